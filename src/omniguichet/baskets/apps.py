from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _compaction() -> None:
    """The counters' deltas are folded by the ledger's sweep, every OUTREACH_SWEEP_SECONDS (docs/baskets.md)."""
    from omniguichet.outreach.services import register_periodic_job

    register_periodic_job(lazy_function("omniguichet.baskets.services.compact_counts_job"))


def _routing_changed(**_signal) -> None:
    """A rule or a basket was saved or deleted: what routing keeps in this process is forgotten (imported on the
    first change, so that start-up does not import the services)."""
    from omniguichet.baskets.services.routing import forget_routing

    forget_routing()


class BasketsConfig(AppConfig):
    name = "omniguichet.baskets"
    label = "baskets"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        when_imported("omniguichet.outreach.services", _compaction)
        # What routing keeps in the process is forgotten when a rule or a basket changes here (routing.CACHE_SECONDS
        # bounds how long other processes keep theirs).
        for model in ("RoutingRule", "Basket"):
            for signal in (post_save, post_delete):
                signal.connect(
                    _routing_changed,
                    sender=f"baskets.{model}",
                    dispatch_uid=f"forget_routing_{model}_{id(signal)}",
                )
