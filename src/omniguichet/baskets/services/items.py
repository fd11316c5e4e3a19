"""Work items: opened, re-opened, closed and re-timed by the app that owns their subject (inside its transaction);
listed, claimed and transferred from the basket console; per-kind actions dispatched to the kind's handler."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.baskets.models import Basket, ItemStatus, ProcessingKind, Transfer, WorkItem
from omniguichet.baskets.registry import item_kind
from omniguichet.baskets.services.counts import basket_counts
from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import apply_each, decode_keyset, encode_keyset, update_rows
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound

BASKET_PAGE = 50
MAX_BASKET_PAGE = 200
MAX_BULK = 200
MAX_ID = 2**63 - 1
# An item is "due soon" once this share of its time is gone (the kind may give its own instant instead).
DUE_SOON_SHARE = 0.8


def _valid_id(value: Any) -> bool:
    """Ids outside a 64-bit integer name nothing (and must not reach SQLite, which overflows on them)."""
    return isinstance(value, int) and 0 < value <= MAX_ID


def _reason(reason: Any) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > 300:
        raise InvalidInput.from_fields({"reason": _("between 1 and 300 characters")})
    return reason


# --- kept in step by the subject's app ------------------------------------------------------------------------
def open_item(
    *,
    kind: str,
    subject_id: int,
    caisse_id: str,
    basket: Basket,
    summary: str,
    received_at: dt.datetime,
    deadline: dt.datetime,
    person_id: int | None = None,
    routed_by: str = "",
    confidence: float | None = None,
    new: bool = False,
) -> WorkItem:
    """The item of a subject that (again) waits for the caisse: created, or re-opened with a new receipt time and
    deadline (a person who writes again restarts the clock). A re-opened item keeps its basket and its claimant.
    `new`: the caller knows the subject has no item yet (one query less)."""
    if not new and reopen_item(
        kind=kind, subject_id=subject_id, summary=summary, received_at=received_at, deadline=deadline
    ):
        return WorkItem.objects.get(kind=kind, subject_id=subject_id)
    return WorkItem.objects.create(
        kind=kind, subject_id=subject_id, person_id=person_id, caisse_id=caisse_id, basket=basket,
        summary=summary[:200], received_at=received_at, deadline=deadline, routed_by=routed_by,
        routing_confidence=confidence,
    )  # fmt: skip


def reopen_item(
    *, kind: str, subject_id: int, summary: str, received_at: dt.datetime, deadline: dt.datetime
) -> bool:
    """The re-opening of a subject's item in one UPDATE (`open_item` uses it, callers that do not need the row back
    call it alone): False when the subject has no item yet (the caller routes it and creates it with
    `open_item(..., new=True)`). The item keeps its basket and its claimant (claimed again if it had one), its
    decision is cleared."""
    reopened = WorkItem.objects.filter(kind=kind, subject_id=subject_id).update(
        received_at=received_at, deadline=deadline, summary=summary[:200],
        status=Case(When(claimed_by__isnull=False, then=Value(ItemStatus.CLAIMED)), default=Value(ItemStatus.OPEN)),
        is_open=True, outcome="", decided_by=None, decided_at=None,
    )  # fmt: skip
    return bool(reopened)


def close_items(
    *, kind: str, subject_ids: Iterable[int], outcome: str, user: Any = None, at: dt.datetime | None = None
) -> int:
    """The subjects were decided (a document accepted, a conversation answered or closed): their items leave the
    baskets' lists. Returns how many were open."""
    return WorkItem.objects.filter(kind=kind, subject_id__in=list(subject_ids), is_open=True).update(
        status=ItemStatus.CLOSED, is_open=False, outcome=outcome[:40] or "closed",
        decided_by=user, decided_at=at or timezone.now(),
    )  # fmt: skip


def retime_items(*, kind: str, deadlines: dict[int, dt.datetime]) -> int:
    """New deadlines for open items, by subject (a changed policy, docs/deadlines.md): two queries per call."""
    items = list(
        WorkItem.objects.filter(kind=kind, subject_id__in=list(deadlines), is_open=True).only(
            "pk", "subject_id"
        )
    )
    for item in items:
        item.deadline = deadlines[item.subject_id]
    update_rows(items, ["deadline"])
    return len(items)


def mark_claimed(*, kind: str, subject_id: int, user: Any) -> int:
    """The subject's own page claimed it (the item follows; the console's claim goes the other way)."""
    return WorkItem.objects.filter(kind=kind, subject_id=subject_id, is_open=True).update(
        status=ItemStatus.CLAIMED, claimed_by=user, claimed_at=timezone.now()
    )


def reroute_item(
    *, kind: str, subject_id: int, basket: Basket, routed_by: str, confidence: float | None = None,
    person_id: int | None = None,
) -> int:  # fmt: skip
    """The subject's routing changed (a sender identified, a motive corrected): the item goes to the new basket,
    unclaimed. Not a transfer between agents, so no Transfer row."""
    changes: dict[str, Any] = {
        "basket": basket, "caisse_id": basket.caisse_id, "routed_by": routed_by, "routing_confidence": confidence,
        "status": ItemStatus.OPEN, "claimed_by": None, "claimed_at": None,
    }  # fmt: skip
    if person_id is not None:
        changes["person_id"] = person_id
    return WorkItem.objects.filter(kind=kind, subject_id=subject_id, is_open=True).update(**changes)


def items_of(*, kind: str, subject_ids: Iterable[int]) -> dict[int, WorkItem]:
    return {i.subject_id: i for i in WorkItem.objects.filter(kind=kind, subject_id__in=list(subject_ids))}


def due_soon_at(item: WorkItem) -> dt.datetime:
    return item.received_at + (item.deadline - item.received_at) * DUE_SOON_SHARE


# --- the console ------------------------------------------------------------------------------------------------
def _agent(actor: Actor) -> None:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("baskets are reserved to caisse staff"))


def _scoped_baskets(actor: Actor) -> QuerySet[Basket]:
    _agent(actor)
    return scope_to_caisse(Basket.objects.all(), actor)


@dataclass(frozen=True)
class BasketSummary:
    basket: Basket
    open_count: int
    overdue_count: int
    by_kind: dict[str, int]
    overdue_by_kind: dict[str, int]


def list_baskets(*, actor: Actor) -> list[BasketSummary]:
    """The baskets of the agent's caisse with their open and overdue counts, per kind of item (two queries: the
    baskets, then their counters and overdue ranges, services.counts)."""
    baskets = list(_scoped_baskets(actor).select_related("caisse").order_by("caisse_id", "kind"))
    counts: dict[int, list[Any]] = {}
    for (basket_id, kind), (n, late) in basket_counts([b.pk for b in baskets], timezone.now()).items():
        entry = counts.setdefault(basket_id, [0, 0, {}, {}])
        entry[0] += n
        entry[1] += late
        entry[2][kind] = n
        entry[3][kind] = late
    return [BasketSummary(b, *counts.get(b.pk, (0, 0, {}, {}))) for b in baskets]


def get_basket(*, actor: Actor, basket_id: Any) -> Basket:
    if not _valid_id(basket_id):
        raise NotFound(_("no such basket"))
    basket = _scoped_baskets(actor).select_related("caisse").filter(pk=basket_id).first()
    if basket is None:
        raise NotFound(_("no such basket"))
    return basket


def caisse_baskets(*, actor: Actor) -> list[Basket]:
    """The baskets the actor may see, without their counts (one query)."""
    return list(_scoped_baskets(actor).order_by("caisse_id", "kind"))


def transfer_targets(*, actor: Actor, basket: Basket) -> list[Basket]:
    """The other baskets of the basket's caisse, where the console may transfer its items. No counts: a basket's
    page must not read every open item of the caisse (about 50,000 a caisse at 5 M items) to offer them."""
    return list(
        _scoped_baskets(actor).filter(caisse_id=basket.caisse_id).exclude(pk=basket.pk).order_by("kind")
    )


@dataclass
class BasketPage:
    basket: Basket
    items: list[WorkItem]
    next_cursor: str | None


def _encode_cursor(item: WorkItem) -> str:
    return encode_keyset(item.deadline, item.pk)


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    return decode_keyset(cursor)


def basket_items(
    *, actor: Actor, basket_id: Any, cursor: str | None = None, limit: int = BASKET_PAGE, kind: str = "",
    with_persons: bool = True,
) -> BasketPage:  # fmt: skip
    """Open items of a basket, every kind together, oldest deadline first (keyset pagination on the partial
    index). `with_persons`: read each item's person and claimant in the same query (the console shows names)."""
    basket = get_basket(actor=actor, basket_id=basket_id)
    limit = max(1, min(int(limit), MAX_BASKET_PAGE))
    queryset = WorkItem.objects.filter(basket_id=basket.pk, is_open=True)
    if kind:
        queryset = queryset.filter(kind=kind)
    if cursor:
        when, pk = _decode_cursor(cursor)
        # `deadline >= when` is implied by the keyset condition; said on its own, it lets the index seek to the
        # cursor (basket_id = ? AND deadline >= ?) instead of reading the basket's items from its start.
        queryset = queryset.filter(deadline__gte=when).filter(
            Q(deadline__gt=when) | Q(deadline=when, id__gt=pk)
        )
    if with_persons:
        queryset = queryset.select_related("person", "claimed_by")
    rows = list(queryset.order_by("deadline", "id")[: limit + 1])
    for row in rows:
        row.basket = basket  # already read: no join for it
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return BasketPage(basket=basket, items=rows[:limit], next_cursor=next_cursor)


def get_item(*, actor: Actor, item_id: Any) -> WorkItem:
    _agent(actor)
    if not _valid_id(item_id):
        raise NotFound(_("no such work item"))
    item = (
        scope_to_caisse(WorkItem.objects.all(), actor)
        .select_related("basket", "person", "claimed_by", "decided_by")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound(_("no such work item"))
    return item


def item_url(item: WorkItem) -> str:
    kind = item_kind(item.kind)
    return kind.url(item.subject_id) if kind else ""


def describe(item: WorkItem) -> str:
    kind = item_kind(item.kind)
    return kind.describe(item) if kind and kind.describe else item.summary


def kind_label(code: str) -> str:
    kind = item_kind(code)
    return str(kind.label) if kind else code


@dataclass(frozen=True)
class BulkResult:
    item_id: int
    ok: bool
    reason: str = ""


def _ids(item_ids: Iterable[Any]) -> list[int]:
    try:
        ids = list(dict.fromkeys(int(i) for i in item_ids))
    except (TypeError, ValueError):
        raise InvalidInput.from_fields({"items": _("item ids are whole numbers")}) from None
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput.from_fields({"items": _("between 1 and %(n)d items") % {"n": MAX_BULK}})
    return ids


def _bulk(
    actor: Actor, item_ids: Iterable[Any], apply: Callable[[WorkItem], None], hook: str
) -> list[BulkResult]:
    """Lock the actor's items, apply to each (a refusal is that row's result, not the batch's), then let each
    kind bring its subjects in step, all in one transaction."""
    _agent(actor)
    with transaction.atomic():
        rows, done = apply_each(
            scope_to_caisse(WorkItem.objects.all(), actor),
            _ids(item_ids),
            apply,
            missing=_("no such work item"),
        )
        by_kind: dict[str, list[WorkItem]] = {}
        for item in done:
            by_kind.setdefault(item.kind, []).append(item)
        for code, items in by_kind.items():
            kind = item_kind(code)
            callback = getattr(kind, hook, None) if kind else None
            if callback is not None:
                callback(items)
    return [BulkResult(*row) for row in rows]


def _check_open(actor: Actor, item: WorkItem) -> None:
    if not item.is_open:
        raise Conflict(_("already closed"))
    if item.claimed_by_id and actor.user is not None and item.claimed_by_id != actor.user.pk:
        raise Conflict(_("claimed by another agent"))


def claim_items(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, item_ids: Iterable[Any]
) -> list[BulkResult]:
    now = timezone.now()

    def apply(item: WorkItem) -> None:
        _check_open(actor, item)
        item.status, item.claimed_by, item.claimed_at = ItemStatus.CLAIMED, actor.user, now
        item.save(update_fields=["status", "claimed_by", "claimed_at"])

    return _bulk(actor, item_ids, apply, "after_claim")


def transfer_items(
    *,
    actor: Actor,
    channel: str = Channel.BACKOFFICE,
    item_ids: Iterable[Any],
    to_basket_id: Any,
    reason: str,
) -> list[BulkResult]:
    """Move items to another basket of their caisse, with a reason (a Transfer row each); they arrive unclaimed."""
    reason = _reason(reason)
    target = get_basket(actor=actor, basket_id=to_basket_id)

    def apply(item: WorkItem) -> None:
        if not item.is_open:
            raise Conflict(_("already closed"))
        if target.caisse_id != item.caisse_id:
            raise Conflict(_("the basket belongs to another caisse"))
        if target.pk == item.basket_id:
            raise Conflict(_("already in this basket"))
        Transfer.objects.create(
            item=item, from_basket_id=item.basket_id, to_basket=target, reason=reason, agent=actor.user
        )
        item.basket = target
        item.status, item.claimed_by, item.claimed_at = ItemStatus.OPEN, None, None
        item.transfer_count += 1
        item.routed_by = "transfer"
        item.save(
            update_fields=["basket", "status", "claimed_by", "claimed_at", "transfer_count", "routed_by"]
        )

    return _bulk(actor, item_ids, apply, "after_transfer")


def run_kind_action(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, action: str, item_ids: Iterable[Any], reason: str = ""
) -> list[BulkResult]:
    """A per-kind action (accept or reject a document, ...) on the selected items: each kind's handler gets its
    own subjects; items of a kind without that action are refused one by one."""
    _agent(actor)
    ids = _ids(item_ids)
    items = {
        i.pk: i
        for i in scope_to_caisse(WorkItem.objects.all(), actor).filter(
            pk__in=[i for i in ids if _valid_id(i)]
        )
    }
    results: dict[int, BulkResult] = {}
    by_kind: dict[str, list[WorkItem]] = {}
    for pk in ids:
        item = items.get(pk)
        kind = item_kind(item.kind) if item else None
        if item is None:
            results[pk] = BulkResult(pk, False, _("no such work item"))
        elif kind is None or action not in kind.actions:
            results[pk] = BulkResult(pk, False, _("this action does not apply to this item"))
        else:
            by_kind.setdefault(item.kind, []).append(item)
    for code, group in by_kind.items():
        spec = item_kind(code).actions[action]  # type: ignore[union-attr]
        item_by_subject = {i.subject_id: i for i in group}
        for subject_id, ok, why in spec.handler(
            actor=actor, subject_ids=list(item_by_subject), reason=reason
        ):
            item = item_by_subject[subject_id]
            results[item.pk] = BulkResult(item.pk, ok, why)
    return [results[pk] for pk in ids]


@dataclass(frozen=True)
class TransferReport:
    total: int
    items_received: int
    by_route: list[tuple[str, str, int]]

    @property
    def routes(self) -> list[tuple[str, str, int]]:
        """`by_route` with the baskets' names (in the active language) instead of their codes."""
        names = dict(ProcessingKind.choices)
        return [(str(names.get(a, a)), str(names.get(b, b)), n) for a, b, n in self.by_route]

    @property
    def rate(self) -> float:
        return self.total / self.items_received if self.items_received else 0.0


def transfer_report(*, actor: Actor, since: dt.datetime | None = None, kind: str = "") -> TransferReport:
    """How many transfers in the agent's caisse since a date (default: 30 days), and between which baskets."""
    since = since or timezone.now() - dt.timedelta(days=30)
    transfers = Transfer.objects.filter(at__gte=since)
    items = WorkItem.objects.filter(received_at__gte=since)
    if kind:
        transfers, items = transfers.filter(item__kind=kind), items.filter(kind=kind)
    if not actor.sees_all_caisses:
        transfers = scope_to_caisse(transfers, actor, field="from_basket__caisse")
        items = scope_to_caisse(items, actor)
    routes = (
        transfers.values_list("from_basket__kind", "to_basket__kind").annotate(n=Count("id")).order_by("-n")
    )
    by_route = [(a, b, n) for a, b, n in routes]
    return TransferReport(
        total=sum(n for *_k, n in by_route), items_received=items.count(), by_route=by_route
    )
