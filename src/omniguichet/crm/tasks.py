"""Background work of the record: re-timing the open work items after a deadline policy changed."""

from __future__ import annotations

from django_tasks import task


@task()
def retime_open_items(kind: str, motive: str | None = None) -> int:
    from omniguichet.crm import services

    return services.retime_open_items(kind=kind, motive=motive)


def enqueue_retime(kind: str, motive: str | None) -> None:
    """Set as crm.services' re-timing scheduler at start-up (crm.apps)."""
    retime_open_items.enqueue(kind, motive)
