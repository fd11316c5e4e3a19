from typing import Any

from django.apps import AppConfig
from django.core import checks

from omniguichet.core.apps import lazy_function, when_imported


def check_bonus_weights(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """OMNIGUICHET_BONUS_WEIGHTS is refused at start-up, not by every dashboard page."""
    from django.conf import settings

    from omniguichet.analytics import engine

    try:
        engine.parse_weights(settings.ANALYTICS_BONUS_WEIGHTS)
    except ValueError as exc:
        return [checks.Error(f"OMNIGUICHET_BONUS_WEIGHTS: {exc}", id="analytics.E001")]
    return []


def _task_hooks() -> None:
    from omniguichet.analytics import services

    services.schedule_export.set(lazy_function("omniguichet.analytics.tasks.enqueue_export"))


def _work_items() -> None:
    from django.utils.translation import gettext_lazy

    from omniguichet.analytics import services

    # Documents sit below analytics: registered from here (messaging, above, registers its own).
    services.register_work_items(
        "document", gettext_lazy("Documents to process"),
        lazy_function("omniguichet.documents.services.work_item_figures"),
    )  # fmt: skip


def _retention() -> None:
    # A month of contacts leaves the database (core.retention) only once the warehouse holds all of it.
    from omniguichet.core import retention

    retention.register_guard(
        "crm_contact", lazy_function("omniguichet.analytics.services.retention.month_exported")
    )


class AnalyticsConfig(AppConfig):
    name = "omniguichet.analytics"
    label = "analytics"

    def ready(self) -> None:
        when_imported("omniguichet.core.retention", _retention)
        checks.register(check_bonus_weights)
        when_imported("omniguichet.analytics.services", _task_hooks)
        when_imported("omniguichet.analytics.services", _work_items)

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker` before it polls: make sure the scheduled export chain runs."""
        from omniguichet.analytics.tasks import start_schedule

        start_schedule()
