from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

from omniguichet.core.apps import lazy_function, when_imported


def _retime_scheduler() -> None:
    # A saved policy re-times open items in the worker: the services never import their tasks.
    from omniguichet.crm.services import register_retime_scheduler

    register_retime_scheduler(lazy_function("omniguichet.crm.tasks.enqueue_retime"))


def _policy_changed(sender, instance, **kwargs) -> None:
    from omniguichet.crm.services import policy_changed

    policy_changed(kind=instance.kind, motive=instance.motive_id)


def _retention() -> None:
    # A month of contacts that leaves (core.retention) takes its keys of crm_contactkey with it.
    from omniguichet.core import retention

    retention.register_before_drop(
        "crm_contact", lazy_function("omniguichet.crm.services.retention.forget_contact_keys")
    )


def _motive_changed(sender, instance, **kwargs) -> None:
    from omniguichet.crm.services import forget_motives

    forget_motives()


class CrmConfig(AppConfig):
    name = "omniguichet.crm"
    label = "crm"

    def ready(self) -> None:
        when_imported("omniguichet.core.retention", _retention)
        when_imported("omniguichet.crm.services", _retime_scheduler)
        # Saved in the admin, the shell or a migration: the open items follow (docs/deadlines.md).
        policy = self.get_model("DeadlinePolicy")
        post_save.connect(_policy_changed, sender=policy, dispatch_uid="omniguichet-deadline-policy-saved")
        post_delete.connect(
            _policy_changed, sender=policy, dispatch_uid="omniguichet-deadline-policy-deleted"
        )
        motive = self.get_model("Motive")  # the motives cached per process (crm.services.active_motives)
        post_save.connect(_motive_changed, sender=motive, dispatch_uid="omniguichet-motive-saved")
        post_delete.connect(_motive_changed, sender=motive, dispatch_uid="omniguichet-motive-deleted")
