from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "omniguichet.analytics"
    label = "analytics"

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker` before it polls: make sure the scheduled export chain runs."""
        from omniguichet.analytics.tasks import start_schedule

        start_schedule()
