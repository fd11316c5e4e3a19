"""Documents in the baskets: their work items (the baskets app), the one place of their queue state; the
documents' own view of a basket (the deprecated /api/v1/documents/baskets endpoints, read through the items),
accepting and rejecting documents (which closes their items), claiming and transferring them (through the items)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.baskets import services as baskets
from omniguichet.baskets.models import Basket, WorkItem
from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import apply_each
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniguichet.documents.models import Document, DocumentStatus
from omniguichet.documents.services.common import BASKET_PAGE, MAX_BULK, _valid_id
from omniguichet.documents.services.notices import notify_document_rejected
from omniguichet.documents.services.purposes import _rejection_hooks
from omniguichet.documents.services.routing import WORK_ITEM_KIND
from omniguichet.documents.services.storage import read_plain


@dataclass(frozen=True)
class BasketSummary:
    basket: Basket
    open_count: int
    overdue_count: int


def list_baskets(*, actor: Actor) -> list[BasketSummary]:
    """The baskets of the agent's caisse with their open and overdue documents (the other kinds of work are in the
    basket console's own list, baskets.services.list_baskets)."""
    return [
        BasketSummary(s.basket, s.by_kind.get(WORK_ITEM_KIND, 0), s.overdue_by_kind.get(WORK_ITEM_KIND, 0))
        for s in baskets.list_baskets(actor=actor)
    ]


def get_basket(*, actor: Actor, basket_id: int) -> Basket:
    return baskets.get_basket(actor=actor, basket_id=basket_id)


@dataclass
class BasketPage:
    basket: Basket
    documents: list[Document]
    next_cursor: str | None


def basket_documents(
    *,
    actor: Actor,
    basket_id: int,
    cursor: str | None = None,
    limit: int = BASKET_PAGE,
    with_persons: bool = True,
) -> BasketPage:
    """Open documents of a basket, oldest deadline first: the page of the basket's document items
    (baskets.services.basket_items, its cursor), then their documents in one query, each with its item.
    `with_persons`: the items' persons and claimants too (the API does not need them)."""
    page = baskets.basket_items(
        actor=actor,
        basket_id=basket_id,
        cursor=cursor,
        limit=limit,
        kind=WORK_ITEM_KIND,
        with_persons=with_persons,
    )
    found = Document.objects.in_bulk([item.subject_id for item in page.items])
    documents = []
    for item in page.items:
        document = found.get(item.subject_id)
        if document is not None:  # an item always has its document (one transaction); never fail a page on it
            document.item = item
            documents.append(document)
    return BasketPage(basket=page.basket, documents=documents, next_cursor=page.next_cursor)


def get_document(*, actor: Actor, document_id: int) -> Document:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("documents are reserved to caisse staff"))
    if not _valid_id(document_id):
        raise NotFound(_("no such document"))
    document = (
        scope_to_caisse(Document.objects.all(), actor)
        .select_related("person", "item__basket", "item__claimed_by", "decided_by")
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        raise NotFound(_("no such document"))
    return document


RECORD_BESIDE_CONTACTS = 5


def document_with_record(*, actor: Actor, document_id: int, purpose: str) -> tuple[Document, Any]:
    """A document and, to show beside it, its person's customer record (crm.services.open_record: the opening
    is written in the record's access log with its purpose, as any opening of a record is), with the last few
    contacts of the timeline."""
    from omniguichet.crm.services import open_record

    document = get_document(actor=actor, document_id=document_id)
    record = open_record(
        actor=actor, channel=Channel.BACKOFFICE, person_id=document.person_id, purpose=purpose,
        limit=RECORD_BESIDE_CONTACTS,
    )  # fmt: skip
    return document, record


def document_content(*, actor: Actor, document_id: int) -> tuple[Document, bytes]:
    """The decrypted file, for an agent of the document's caisse only."""
    document = get_document(actor=actor, document_id=document_id)
    return document, read_plain(document)


@dataclass(frozen=True)
class BulkResult:
    document_id: int
    ok: bool
    reason: str = ""


def _decide(actor: Actor, document_ids: Iterable[int], apply: Callable[[Document], None]) -> list[BulkResult]:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("documents are reserved to caisse staff"))
    ids = list(dict.fromkeys(int(i) for i in document_ids))
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput.from_fields({"documents": _("between 1 and %(n)d documents") % {"n": MAX_BULK}})
    # The document and its item locked together (one query): a claim from the console waits for the decision.
    documents = scope_to_caisse(Document.objects.select_related("item"), actor)
    rows, _done = apply_each(documents, ids, apply, missing=_("no such document"))
    return [BulkResult(*row) for row in rows]


def _check_open(actor: Actor, document: Document) -> None:
    if not document.is_open:
        raise Conflict(_("already %(status)s") % {"status": document.get_status_display()})
    claimant = document.item.claimed_by_id
    if claimant and actor.user is not None and claimant != actor.user.pk:
        raise Conflict(_("claimed by another agent"))


def _through_items(
    actor: Actor, document_ids: Iterable[int], run: Callable[[list[int]], list[baskets.BulkResult]]
) -> list[BulkResult]:
    """A console action of the baskets app on the documents' items, answered per document."""
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("documents are reserved to caisse staff"))
    ids = list(dict.fromkeys(int(i) for i in document_ids))
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput.from_fields({"documents": _("between 1 and %(n)d documents") % {"n": MAX_BULK}})
    items = baskets.items_of(kind=WORK_ITEM_KIND, subject_ids=[i for i in ids if _valid_id(i)])
    by_item = {item.pk: pk for pk, item in items.items()}
    done = {by_item[r.item_id]: r for r in run(list(by_item))} if by_item else {}
    return [
        BulkResult(pk, done[pk].ok, done[pk].reason)
        if pk in done
        else BulkResult(pk, False, _("no such document"))
        for pk in ids
    ]


def claim_documents(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, document_ids: Iterable[int]
) -> list[BulkResult]:
    return _through_items(
        actor,
        document_ids,
        lambda item_ids: baskets.claim_items(actor=actor, channel=channel, item_ids=item_ids),
    )


def accept_documents(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, document_ids: Iterable[int]
) -> list[BulkResult]:
    now = timezone.now()

    def apply(document: Document) -> None:
        _check_open(actor, document)
        document.status = DocumentStatus.ACCEPTED
        document.is_open = False
        document.decided_by = actor.user
        document.decided_at = now
        document.save(update_fields=["status", "is_open", "decided_by", "decided_at"])
        baskets.close_items(
            kind=WORK_ITEM_KIND, subject_ids=[document.pk], outcome="accepted", user=actor.user, at=now
        )

    return _decide(actor, document_ids, apply)


def reject_documents(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, document_ids: Iterable[int], reason: str
) -> list[BulkResult]:
    """Reject with a reason; the purpose's rejection hook runs (a case waits for the document again) and, after
    commit, the person is told (notify_document_rejected) with a link to deposit again."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > 300:
        raise InvalidInput.from_fields({"reason": _("between 1 and 300 characters")})
    now = timezone.now()

    def apply(document: Document) -> None:
        _check_open(actor, document)
        document.status = DocumentStatus.REJECTED
        document.is_open = False
        document.decided_by = actor.user
        document.decided_at = now
        document.rejection_reason = reason
        document.save(update_fields=["status", "is_open", "decided_by", "decided_at", "rejection_reason"])
        baskets.close_items(
            kind=WORK_ITEM_KIND, subject_ids=[document.pk], outcome="rejected", user=actor.user, at=now
        )
        hook = _rejection_hooks.get(document.purpose_kind)
        if hook is not None:
            hook(document, reason)
        transaction.on_commit(lambda: notify_document_rejected(actor=actor, document=document, reason=reason))

    return _decide(actor, document_ids, apply)


def transfer_documents(
    *,
    actor: Actor,
    channel: str = Channel.BACKOFFICE,
    document_ids: Iterable[int],
    to_basket_id: int,
    reason: str,
) -> list[BulkResult]:
    """Move documents to another basket of their caisse, with a reason (a baskets.Transfer row each)."""
    return _through_items(
        actor,
        document_ids,
        lambda item_ids: baskets.transfer_items(
            actor=actor, channel=channel, item_ids=item_ids, to_basket_id=to_basket_id, reason=reason
        ),
    )


def _action_rows(results: list[BulkResult]) -> list[tuple[int, bool, str]]:
    return [(r.document_id, r.ok, r.reason) for r in results]


def accept_action(*, actor: Actor, subject_ids: list[int], reason: str = "") -> list[tuple[int, bool, str]]:
    return _action_rows(accept_documents(actor=actor, document_ids=subject_ids))


def reject_action(*, actor: Actor, subject_ids: list[int], reason: str = "") -> list[tuple[int, bool, str]]:
    return _action_rows(reject_documents(actor=actor, document_ids=subject_ids, reason=reason))


def transfer_report(*, actor: Actor, since: dt.datetime | None = None) -> baskets.TransferReport:
    """Transfers of documents in the agent's caisse since a date (default: 30 days), and between which baskets."""
    return baskets.transfer_report(actor=actor, since=since, kind=WORK_ITEM_KIND)


def work_item_figures(caisse: str | None, now: dt.datetime) -> dict[str, int]:
    """Documents to process in one caisse (None: all) for the dashboards, read from their work items: open, due
    within 48 hours (a fifth of the usual 10 days), overdue, and those decided in the last 30 days in time or late.
    One statement of two parts, each read from a partial index alone: the open items from the baskets' index
    (basket, kind, deadline) of the caisse's baskets, the closed ones from (caisse, kind, decided_at, deadline)."""
    from django.db.models import F, IntegerField, Value

    zero = Value(0, output_field=IntegerField())
    open_items = WorkItem.objects.filter(kind=WORK_ITEM_KIND, is_open=True)
    closed = WorkItem.objects.filter(
        kind=WORK_ITEM_KIND, is_open=False, decided_at__gte=now - dt.timedelta(days=30)
    )
    if caisse is not None:
        open_items = open_items.filter(basket_id__in=Basket.objects.filter(caisse_id=caisse).values("pk"))
        closed = closed.filter(caisse_id=caisse)
    open_part = (
        open_items.values("kind")
        .annotate(
            open=Count("id"),
            due_soon=Count("id", filter=Q(deadline__gte=now, deadline__lt=now + dt.timedelta(hours=48))),
            overdue=Count("id", filter=Q(deadline__lt=now)),
            in_time=zero,
            late=zero,
        )
        .order_by()
    )
    closed_part = (
        closed.values("kind")
        .annotate(
            open=zero,
            due_soon=zero,
            overdue=zero,
            in_time=Count("id", filter=Q(decided_at__lte=F("deadline"))),
            late=Count("id", filter=Q(decided_at__gt=F("deadline"))),
        )
        .order_by()
    )
    keys = ("open", "due_soon", "overdue", "in_time", "late")
    figures = dict.fromkeys(keys, 0)
    for row in open_part.union(closed_part, all=True):
        values: dict[str, Any] = dict(row)
        for key in keys:
            figures[key] += int(values[key] or 0)
    return figures
