from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "omniguichet.outreach"
    label = "outreach"

    def ready(self) -> None:
        from omniguichet.cases.services import register_event_handler
        from omniguichet.outreach.services import on_case_events

        register_event_handler(on_case_events)

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker` before it polls: re-dispatch what a killed worker left behind."""
        from omniguichet.outreach.tasks import start_sweeping

        start_sweeping()
