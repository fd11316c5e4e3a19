from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "omniguichet.core"
    label = "core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_staff_logged_in, dispatch_uid="omniguichet-staff-session")


def _staff_logged_in(sender, request, user, **kwargs) -> None:
    from omniguichet.core.guards import is_staff_login, start_staff_session

    if request is not None and hasattr(request, "session") and is_staff_login(user):
        start_staff_session(request)
