"""Conversations in the baskets: each conversation waiting for the caisse is a work item (kind "message" or
"email") in a basket of its caisse, chosen by the routing rules (motive, words of the subject). An e-mail whose
sender is unknown waits in the "to identify" basket; one whose motive the classifier could not tell with enough
confidence waits in the "triage" basket. Kept in step with the thread in the same transaction: opened when the
person writes, closed by the answer or the closing, re-routed when the sender is identified or the motive
corrected, re-timed with the thread."""

from __future__ import annotations

from typing import Any

from omniguichet.baskets import services as baskets
from omniguichet.baskets.models import ProcessingKind, WorkItem
from omniguichet.messaging.models import Thread, ThreadChannel, ThreadStatus

# The motive of an e-mail whose suggestion was too unsure to route on (until an agent corrects it).
DEFAULT_MOTIVE = "autre"


def _confident_enough(confidence: float) -> bool:
    from omniguichet.crm.classifier.model import threshold

    return confidence >= threshold()


def route_thread(thread: Thread) -> tuple[Any, str, float | None]:
    """(basket, routed_by, confidence) of a thread's item."""
    confidence = thread.suggestion_confidence if thread.channel == ThreadChannel.EMAIL else None
    if thread.person_id is None:
        basket = baskets.basket_for(caisse_code=thread.caisse_id, processing_kind=ProcessingKind.TO_IDENTIFY)
        return basket, "unknown_sender", confidence
    unsure = confidence is not None and not _confident_enough(confidence)
    if (
        unsure and thread.suggested_motive and thread.motive_id == DEFAULT_MOTIVE
    ):  # not corrected by an agent yet
        basket = baskets.basket_for(caisse_code=thread.caisse_id, processing_kind=ProcessingKind.TRIAGE)
        return basket, "triage", confidence
    route = baskets.route(
        caisse_code=thread.caisse_id, item_kind=thread.work_item_kind, motive=thread.motive_id,
        subject=thread.subject,
    )  # fmt: skip
    by_model = confidence is not None and thread.suggested_motive == thread.motive_id
    return route.basket, ("model," if by_model else "") + route.routed_by, confidence


def thread_waits(thread: Thread, *, new: bool = False) -> None:
    """The thread waits for an answer (a new one, or the person wrote again): its item is re-opened with the
    thread's new deadline in the basket it was in (one UPDATE), or routed and created. `new`: the thread was just
    created, it has no item yet (no UPDATE tried)."""
    assert thread.status == ThreadStatus.WAITING and thread.deadline is not None
    received_at = thread.waiting_since or thread.last_message_at
    if not new and baskets.reopen_item(
        kind=thread.work_item_kind, subject_id=thread.pk, summary=thread.subject, received_at=received_at,
        deadline=thread.deadline,
    ):  # fmt: skip
        return
    basket, routed_by, confidence = route_thread(thread)
    baskets.open_item(
        kind=thread.work_item_kind, subject_id=thread.pk, person_id=thread.person_id, caisse_id=thread.caisse_id,
        basket=basket, summary=thread.subject, received_at=received_at, deadline=thread.deadline,
        routed_by=routed_by, confidence=confidence, new=True,
    )  # fmt: skip


def thread_stops_waiting(thread: Thread, *, outcome: str, user: Any) -> None:
    """Answered or closed: the clock stops and the item leaves the baskets' lists."""
    baskets.close_items(kind=thread.work_item_kind, subject_ids=[thread.pk], outcome=outcome, user=user)


def thread_claimed(thread: Thread, user: Any) -> None:
    baskets.mark_claimed(kind=thread.work_item_kind, subject_id=thread.pk, user=user)


def thread_rerouted(thread: Thread) -> None:
    """The sender was identified or the motive corrected: the open item goes where the rules now send it, unless
    an agent had moved it by hand."""
    item = baskets.items_of(kind=thread.work_item_kind, subject_ids=[thread.pk]).get(thread.pk)
    if item is None or not item.is_open or item.routed_by == "transfer":
        return
    basket, routed_by, confidence = route_thread(thread)
    baskets.reroute_item(
        kind=thread.work_item_kind, subject_id=thread.pk, basket=basket, routed_by=routed_by,
        confidence=confidence, person_id=thread.person_id,
    )  # fmt: skip


def threads_retimed(threads: list[Thread], *, kind: str) -> None:
    """Threads of one kind got new deadlines: their items follow (two queries)."""
    baskets.retime_items(kind=kind, deadlines={t.pk: t.deadline for t in threads if t.deadline is not None})


def after_items_claimed(items: list[WorkItem]) -> None:
    """The basket console claimed conversations' items: the conversations follow (same transaction)."""
    for item in items:
        Thread.objects.filter(pk=item.subject_id).update(claimed_by=item.claimed_by)
