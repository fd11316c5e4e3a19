"""Re-timing the waiting threads when a deadline policy of the kind "message" (secure messages) or "email" (e-mail
threads) changes (docs/deadlines.md): registered with crm.services.register_retimer at start-up (messaging.apps)."""

from __future__ import annotations

from django.db import transaction

from omniguichet.core.db import update_rows
from omniguichet.crm.services import deadline_and_due_soon
from omniguichet.messaging.models import (
    EMAIL_WORK_ITEM_KIND,
    WORK_ITEM_KIND,
    Thread,
    ThreadChannel,
    ThreadStatus,
)
from omniguichet.messaging.services.items import threads_retimed

RETIME_BATCH = 1000


def retime_threads(
    *,
    motives: list[str] | None = None,
    exclude_motives: list[str] | tuple[str, ...] = (),
    batch: int = RETIME_BATCH,
    kind: str = WORK_ITEM_KIND,
) -> int:
    """Recompute the deadline (and the "due soon" instant) of the waiting threads of these motives (all but
    `exclude_motives` when `motives` is None) from when each started waiting, without replaying their history.

    Batches of `batch` threads in primary-key order, each in its own short transaction: one SELECT of the batch
    (locked on PostgreSQL; SQLite's transactions are IMMEDIATE) and one UPDATE of it (core.db.update_rows), so an
    answer or a new message between two batches is never overwritten and no lock is held for long. Returns how
    many threads were re-timed."""
    channel = ThreadChannel.EMAIL if kind == EMAIL_WORK_ITEM_KIND else ThreadChannel.SECURE_MESSAGE
    waiting = Thread.objects.filter(status=ThreadStatus.WAITING, waiting_since__isnull=False, channel=channel)
    if motives is not None:
        waiting = waiting.filter(motive_id__in=motives)
    if exclude_motives:
        waiting = waiting.exclude(motive_id__in=list(exclude_motives))
    done, last = 0, 0
    while True:
        with transaction.atomic():
            rows = list(
                waiting.filter(pk__gt=last)
                .order_by("pk")
                .select_for_update(of=("self",))
                .only("pk", "caisse_id", "motive_id", "waiting_since")[:batch]
            )
            if not rows:
                return done
            for thread in rows:
                assert thread.waiting_since is not None  # filtered above
                thread.deadline, thread.due_soon_at = deadline_and_due_soon(
                    kind=kind, motive=thread.motive_id, caisse=thread.caisse_id,
                    received_at=thread.waiting_since,
                )  # fmt: skip
            update_rows(rows, ["deadline", "due_soon_at"])
            threads_retimed(rows, kind=kind)
        done += len(rows)
        last = rows[-1].pk


def retime_email_threads(**kwargs: object) -> int:
    """The same for the e-mail threads (policy kind "email")."""
    return retime_threads(kind=EMAIL_WORK_ITEM_KIND, **kwargs)  # type: ignore[arg-type]
