from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _dispatch_scheduler() -> None:
    # The ledger's services ask for a dispatch through this registration: they never import their tasks.
    from omniguichet.outreach.services import register_dispatch_scheduler

    register_dispatch_scheduler(lazy_function("omniguichet.outreach.tasks.enqueue_dispatch"))


def _queued_messages(now):
    from django.db.models import Count

    from omniguichet.outreach.models import OutboundMessage

    # Queued messages only (a partial index): counting sent ones at every scrape would read the whole ledger.
    rows = OutboundMessage.objects.filter(state="queued").values("channel").annotate(n=Count("id")).order_by()
    return [((row["channel"],), row["n"]) for row in rows]


def _metrics() -> None:
    from omniguichet.core.observability import register_scrape_metric

    register_scrape_metric(
        "omniguichet_ledger_queued_messages", "Outbound messages waiting to be sent, by channel", ("channel",),
        _queued_messages,
    )  # fmt: skip


def _retention() -> None:
    # A month of the ledger leaves (core.retention) once settled, with its idempotency keys.
    from omniguichet.core import retention

    table = "outreach_outboundmessage"
    retention.register_guard(table, lazy_function("omniguichet.outreach.services.retention.month_settled"))
    retention.register_before_drop(
        table, lazy_function("omniguichet.outreach.services.retention.forget_message_keys")
    )


class OutreachConfig(AppConfig):
    name = "omniguichet.outreach"
    label = "outreach"

    def ready(self) -> None:
        when_imported("omniguichet.core.retention", _retention)
        # Registered when the ledger's services are imported, not at start-up (issue 15).
        when_imported("omniguichet.outreach.services", _dispatch_scheduler)
        when_imported("omniguichet.core.observability", _metrics)

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker` before it polls: re-dispatch what a killed worker left behind."""
        from omniguichet.outreach.tasks import start_sweeping

        start_sweeping()
