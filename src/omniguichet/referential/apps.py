from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _forget_calendar(sender, instance, **kwargs) -> None:
    from omniguichet.referential.calendars import forget

    forget(getattr(instance, "caisse_id", None) or getattr(instance, "code", None))


class ReferentialConfig(AppConfig):
    name = "omniguichet.referential"
    label = "referential"

    def ready(self) -> None:
        # A caisse's calendar is cached per process; its rows changing forget it (docs/deadlines.md).
        for model in ("Caisse", "OpeningPeriod", "Closure"):
            sender = self.get_model(model)
            uid = f"omniguichet-calendar-{model}"
            post_save.connect(_forget_calendar, sender=sender, dispatch_uid=uid)
            post_delete.connect(_forget_calendar, sender=sender, dispatch_uid=uid)
