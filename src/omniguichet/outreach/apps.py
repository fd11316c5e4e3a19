from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _dispatch_scheduler() -> None:
    # The ledger's services ask for a dispatch through this registration: they never import their tasks.
    from omniguichet.outreach.services import register_dispatch_scheduler

    register_dispatch_scheduler(lazy_function("omniguichet.outreach.tasks.enqueue_dispatch"))


class OutreachConfig(AppConfig):
    name = "omniguichet.outreach"
    label = "outreach"

    def ready(self) -> None:
        # Registered when the ledger's services are imported, not at start-up (issue 15).
        when_imported("omniguichet.outreach.services", _dispatch_scheduler)

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker` before it polls: re-dispatch what a killed worker left behind."""
        from omniguichet.outreach.tasks import start_sweeping

        start_sweeping()
