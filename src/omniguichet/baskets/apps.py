from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _compaction() -> None:
    """The counters' deltas are folded by the ledger's sweep, every OUTREACH_SWEEP_SECONDS (docs/baskets.md)."""
    from omniguichet.outreach.services import register_periodic_job

    register_periodic_job(lazy_function("omniguichet.baskets.services.compact_counts_job"))


class BasketsConfig(AppConfig):
    name = "omniguichet.baskets"
    label = "baskets"

    def ready(self) -> None:
        when_imported("omniguichet.outreach.services", _compaction)
