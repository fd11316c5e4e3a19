from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _event_handler() -> None:
    from omniguichet.cases.services import register_event_handler

    register_event_handler(lazy_function("omniguichet.outreach.services.on_case_events"))


class OutreachConfig(AppConfig):
    name = "omniguichet.outreach"
    label = "outreach"

    def ready(self) -> None:
        # Registered when the case ingestion's services are imported, not at start-up (issue 15).
        when_imported("omniguichet.cases.services", _event_handler)

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker` before it polls: re-dispatch what a killed worker left behind."""
        from omniguichet.outreach.tasks import start_sweeping

        start_sweeping()
