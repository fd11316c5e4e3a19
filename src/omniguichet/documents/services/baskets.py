"""The basket console: listing, claiming, transferring, accepting and rejecting documents."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from omniguichet.documents.models import (
    Basket,
    Document,
    DocumentStatus,
    ProcessingKind,
    Transfer,
)
from omniguichet.documents.services.common import BASKET_PAGE, MAX_BASKET_PAGE, MAX_BULK, _valid_id
from omniguichet.documents.services.notices import notify_document_rejected
from omniguichet.documents.services.purposes import _rejection_hooks
from omniguichet.documents.services.storage import read_plain


@dataclass(frozen=True)
class BasketSummary:
    basket: Basket
    open_count: int
    overdue_count: int


def _scoped_baskets(actor: Actor):
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("baskets are reserved to caisse staff"))
    return scope_to_caisse(Basket.objects.all(), actor)


def list_baskets(*, actor: Actor) -> list[BasketSummary]:
    """The baskets of the agent's caisse with their open and overdue counts (two queries: the baskets, then the
    counts read from the partial index of open documents)."""
    now = timezone.now()
    baskets = list(_scoped_baskets(actor).select_related("caisse").order_by("caisse_id", "kind"))
    counts = {
        row["basket_id"]: (row["n"], row["late"])
        for row in Document.objects.filter(basket_id__in=[b.pk for b in baskets], is_open=True)
        .values("basket_id")
        .annotate(n=Count("id"), late=Count("id", filter=Q(deadline__lt=now)))
        .order_by()
    }
    return [BasketSummary(b, *counts.get(b.pk, (0, 0))) for b in baskets]


def get_basket(*, actor: Actor, basket_id: int) -> Basket:
    if not _valid_id(basket_id):
        raise NotFound(_("no such basket"))
    basket = _scoped_baskets(actor).select_related("caisse").filter(pk=basket_id).first()
    if basket is None:
        raise NotFound(_("no such basket"))
    return basket


@dataclass
class BasketPage:
    basket: Basket
    documents: list[Document]
    next_cursor: str | None


def _encode_cursor(document: Document) -> str:
    return base64.urlsafe_b64encode(f"{document.received_at.isoformat()}|{document.pk}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        when, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = dt.datetime.fromisoformat(when)
        if timezone.is_naive(moment):
            raise ValueError
        if not _valid_id(int(pk)):
            raise ValueError
        return moment, int(pk)
    except (ValueError, UnicodeError, TypeError):
        raise InvalidInput.from_fields({"cursor": _("invalid cursor")}) from None


def basket_documents(
    *,
    actor: Actor,
    basket_id: int,
    cursor: str | None = None,
    limit: int = BASKET_PAGE,
    with_persons: bool = True,
) -> BasketPage:
    """Open documents of a basket, oldest first (keyset pagination on the partial index). `with_persons`: read
    each document's person and claimant in the same query (the console shows their names; the API does not)."""
    basket = get_basket(actor=actor, basket_id=basket_id)
    limit = max(1, min(limit, MAX_BASKET_PAGE))
    queryset = Document.objects.filter(basket_id=basket.pk, is_open=True)
    if cursor:
        when, pk = _decode_cursor(cursor)
        queryset = queryset.filter(Q(received_at__gt=when) | Q(received_at=when, id__gt=pk))
    if with_persons:
        queryset = queryset.select_related("person", "claimed_by")
    rows = list(queryset.order_by("received_at", "id")[: limit + 1])
    for row in rows:
        row.basket = basket  # already read: no join for it
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return BasketPage(basket=basket, documents=rows[:limit], next_cursor=next_cursor)


def get_document(*, actor: Actor, document_id: int) -> Document:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("documents are reserved to caisse staff"))
    if not _valid_id(document_id):
        raise NotFound(_("no such document"))
    document = (
        scope_to_caisse(Document.objects.all(), actor)
        .select_related("person", "basket", "claimed_by", "decided_by")
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
    results = []
    with transaction.atomic():
        found = {
            d.pk: d
            for d in scope_to_caisse(Document.objects.select_for_update(), actor).filter(
                pk__in=[i for i in ids if _valid_id(i)]
            )
        }
        for pk in ids:
            document = found.get(pk)
            if document is None:
                results.append(BulkResult(pk, False, _("no such document")))
                continue
            try:
                apply(document)
            except ServiceError as exc:
                results.append(BulkResult(pk, False, exc.message))
            else:
                results.append(BulkResult(pk, True))
    return results


def _check_open(actor: Actor, document: Document) -> None:
    if not document.is_open:
        raise Conflict(_("already %(status)s") % {"status": document.get_status_display()})
    if document.claimed_by_id and actor.user is not None and document.claimed_by_id != actor.user.pk:
        raise Conflict(_("claimed by another agent"))


def claim_documents(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, document_ids: Iterable[int]
) -> list[BulkResult]:
    now = timezone.now()

    def apply(document: Document) -> None:
        _check_open(actor, document)
        document.status = DocumentStatus.CLAIMED
        document.claimed_by = actor.user
        document.claimed_at = now
        document.save(update_fields=["status", "claimed_by", "claimed_at"])

    return _decide(actor, document_ids, apply)


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
    """Move documents to another basket of their caisse, with a reason (a Transfer row each)."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > 300:
        raise InvalidInput.from_fields({"reason": _("between 1 and 300 characters")})
    target = get_basket(actor=actor, basket_id=to_basket_id)

    def apply(document: Document) -> None:
        if not document.is_open:
            raise Conflict(_("already %(status)s") % {"status": document.get_status_display()})
        if target.caisse_id != document.caisse_id:
            raise Conflict(_("the basket belongs to another caisse"))
        if target.pk == document.basket_id:
            raise Conflict(_("already in this basket"))
        Transfer.objects.create(
            document=document,
            from_basket_id=document.basket_id,
            to_basket=target,
            reason=reason,
            agent=actor.user,
        )
        document.basket = target
        document.status = DocumentStatus.RECEIVED
        document.claimed_by = None
        document.claimed_at = None
        document.transfer_count += 1
        document.save(update_fields=["basket", "status", "claimed_by", "claimed_at", "transfer_count"])

    return _decide(actor, document_ids, apply)


@dataclass(frozen=True)
class TransferReport:
    total: int
    documents_received: int
    by_route: list[tuple[str, str, int]]

    @property
    def routes(self) -> list[tuple[str, str, int]]:
        """`by_route` with the baskets' names (in the active language) instead of their codes."""
        names = dict(ProcessingKind.choices)
        return [(str(names.get(a, a)), str(names.get(b, b)), n) for a, b, n in self.by_route]

    @property
    def rate(self) -> float:
        return self.total / self.documents_received if self.documents_received else 0.0


def transfer_report(*, actor: Actor, since: dt.datetime | None = None) -> TransferReport:
    """How many transfers in the agent's caisse since a date (default: 30 days), and between which baskets."""
    since = since or timezone.now() - dt.timedelta(days=30)
    transfers = Transfer.objects.filter(at__gte=since)
    documents = Document.objects.filter(received_at__gte=since)
    if not actor.sees_all_caisses:
        transfers = scope_to_caisse(transfers, actor, field="from_basket__caisse")
        documents = scope_to_caisse(documents, actor)
    routes = (
        transfers.values_list("from_basket__kind", "to_basket__kind").annotate(n=Count("id")).order_by("-n")
    )
    by_route = [(a, b, n) for a, b, n in routes]
    return TransferReport(
        total=sum(n for *_k, n in by_route), documents_received=documents.count(), by_route=by_route
    )


def work_item_figures(caisse: str | None, now: dt.datetime) -> dict[str, int]:
    """Documents to process in one caisse (None: all) for the dashboards: open, due within 48 hours (a fifth of
    the usual 10 days), overdue, and those decided in the last 30 days in time or late (one query)."""
    from django.db.models import Count, F, Q

    documents = Document.objects.all() if caisse is None else Document.objects.filter(caisse_id=caisse)
    recent = Q(is_open=False, decided_at__gte=now - dt.timedelta(days=30))
    row = documents.aggregate(
        open=Count("id", filter=Q(is_open=True)),
        due_soon=Count(
            "id", filter=Q(is_open=True, deadline__gte=now, deadline__lt=now + dt.timedelta(hours=48))
        ),
        overdue=Count("id", filter=Q(is_open=True, deadline__lt=now)),
        in_time=Count("id", filter=recent & Q(decided_at__lte=F("deadline"))),
        late=Count("id", filter=recent & Q(decided_at__gt=F("deadline"))),
    )
    return {key: int(value or 0) for key, value in row.items()}
