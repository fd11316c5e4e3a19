"""Document endpoints: deposit (by the person on the app or a kiosk, or by an agent on behalf), document
requests, and the baskets of the back office."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.errors import AuthenticationError

from omniguichet.core.actors import Actor, Channel, insured_actor, staff_actor
from omniguichet.core.api import ErrorOut, shaped_response
from omniguichet.core.errors import InvalidInput
from omniguichet.documents import services
from omniguichet.documents.models import Document

router = Router(tags=["documents"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def _actor(request: HttpRequest) -> Actor:
    """The insured person when the token belongs to an online account, else a staff member."""
    user = request.user
    if not user.is_authenticated:
        raise AuthenticationError
    if getattr(user, "account", None) is not None:
        return insured_actor(user)
    return staff_actor(user)


class BasketRefOut(Schema):
    id: int
    caisse: str
    kind: str


class DocumentOut(Schema):
    id: int
    document_type: str
    name: str
    content_type: str
    size: int
    pages: int
    checksum: str
    status: str
    received_at: dt.datetime
    deadline: dt.datetime
    basket: BasketRefOut
    person_id: int
    transfers: int
    rejection_reason: str

    @staticmethod
    def of(d: Document) -> dict:
        """Plain dict in the shape of DocumentOut (lists render it without re-validation: shaped_response). The
        queue's fields are the document's work item's (read with it, and its basket)."""
        return {
            "id": d.pk, "document_type": d.document_type, "name": d.original_name, "content_type": d.content_type,
            "size": d.size, "pages": d.pages, "checksum": d.checksum, "status": d.state,
            "received_at": d.received_at, "deadline": d.item.deadline,
            "basket": {"id": d.item.basket_id, "caisse": d.item.caisse_id, "kind": d.item.basket.kind},
            "person_id": d.person_id, "transfers": d.item.transfer_count, "rejection_reason": d.rejection_reason,
        }  # fmt: skip


class DepositOut(Schema):
    id: int
    purpose_kind: str
    purpose_ref: str
    channel: str
    documents: list[DocumentOut]


@router.post(
    "/documents/deposits",
    response={200: DepositOut, 201: DepositOut, **ERRORS},
    summary="Deposit documents for a purpose (all files or none)",
    description="Multipart form: `purpose_kind` (request, teleservice, case_request, appointment), "
    "`purpose_ref`, `document_type`, one or more `files` (PDF, JPEG, PNG). An insured person deposits for "
    "themselves (`channel` app, web or kiosk; default app); an agent deposits on behalf of a person of their "
    "caisse (`person_id`, `channel` reception, phone, email or letter; default reception). Optional "
    "`idempotency_key` (or the `Idempotency-Key` header; at most 64 letters, digits or - _ . :): a retry with "
    "the same key for the same person answers 200 with the first deposit instead of making a second one.",
)
def create_deposit(
    request: HttpRequest,
    purpose_kind: Form[str],
    purpose_ref: Form[str],
    document_type: Form[str],
    files: File[list[UploadedFile]],
    channel: Form[str] = "",
    person_id: Form[int | None] = None,
    idempotency_key: Form[str] = "",
):
    actor = _actor(request)
    if not channel:
        channel = Channel.APP if actor.kind == "insured" else Channel.RECEPTION
    result = services.deposit_documents(
        actor=actor,
        channel=channel,
        purpose_kind=purpose_kind,
        purpose_ref=purpose_ref,
        document_type=document_type,
        files=services.read_uploads(files),
        person_id=person_id,
        idempotency_key=idempotency_key or request.headers.get("Idempotency-Key", ""),
    )
    deposit = result.deposit
    return Status(
        200 if result.replayed else 201,
        DepositOut(
            id=deposit.pk,
            purpose_kind=deposit.purpose_kind,
            purpose_ref=deposit.purpose_ref,
            channel=deposit.channel,
            documents=[DocumentOut(**DocumentOut.of(d)) for d in result.documents],
        ),
    )


class RequestIn(Schema):
    person_id: int
    document_types: list[str]
    label: str
    processing_kind: str = ""
    deadline: dt.date | None = None


class RequestOut(Schema):
    id: int
    person_id: int
    document_types: list[str]
    label: str
    status: str
    deadline: dt.date | None


def _request_out(r) -> RequestOut:
    return RequestOut(
        id=r.pk, person_id=r.person_id, document_types=list(r.document_types), label=r.label, status=r.status,
        deadline=r.deadline,
    )  # fmt: skip


@router.post(
    "/documents/requests", response={201: RequestOut, **ERRORS}, summary="Ask a person for documents"
)
def create_request(request: HttpRequest, payload: RequestIn):
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    created = services.request_documents(
        actor=actor, channel=Channel.BACKOFFICE, person_id=payload.person_id,
        document_types=payload.document_types, label=payload.label, processing_kind=payload.processing_kind,
        deadline=payload.deadline,
    )  # fmt: skip
    return Status(201, _request_out(created))


@router.get(
    "/documents/requests",
    response={200: list[RequestOut], **ERRORS},
    summary="Open document requests (the person's own, or of a person for an agent)",
)
def list_requests(request: HttpRequest, person_id: int | None = None):
    actor = _actor(request)
    return [_request_out(r) for r in services.open_requests(actor=actor, person_id=person_id)]


class PurposeOut(Schema):
    kind: str
    ref: str
    label: str
    expected_types: list[str]
    deadline: dt.datetime | None
    since: dt.datetime | None


@router.get(
    "/documents/purposes",
    response={200: list[PurposeOut], **ERRORS},
    summary="What the person can deposit for now: document requests, documents their cases wait for, ...",
    description="Each item gives the `purpose_kind` and `purpose_ref` of `POST /documents/deposits`. An insured "
    "person gets their own; an agent names a person of their caisse (`person_id`).",
)
def list_purposes(request: HttpRequest, person_id: int | None = None):
    actor = _actor(request)
    return [
        PurposeOut(
            kind=item.kind,
            ref=item.ref,
            label=item.purpose.label,
            expected_types=list(item.purpose.expected_types),
            deadline=item.purpose.deadline,
            since=item.since,
        )
        for item in services.open_purposes(actor=actor, person_id=person_id)
    ]


class BasketOut(Schema):
    id: int
    caisse: str
    kind: str
    label: str
    open: int
    overdue: int


@router.get(
    "/documents/baskets",
    response={200: list[BasketOut], **ERRORS},
    summary="Baskets of my caisse (deprecated: GET /api/v1/baskets)",
    deprecated=True,
)
def list_baskets(request: HttpRequest):
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    return [
        BasketOut(
            id=s.basket.pk,
            caisse=s.basket.caisse_id,
            kind=s.basket.kind,
            label=str(s.basket.get_kind_display()),
            open=s.open_count,
            overdue=s.overdue_count,
        )
        for s in services.list_baskets(actor=actor)
    ]


class BasketPageOut(Schema):
    documents: list[DocumentOut]
    next_cursor: str | None


class PageQuery(Schema):
    cursor: str | None = None
    limit: int = services.BASKET_PAGE


@router.get(
    "/documents/baskets/{basket_id}/documents",
    response={200: BasketPageOut, **ERRORS},
    summary="Open documents of a basket, oldest first (deprecated: GET /api/v1/baskets/{basket_id}/items)",
    deprecated=True,
)
def basket_documents(request: HttpRequest, basket_id: int, query: Query[PageQuery]):
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    page = services.basket_documents(
        actor=actor, basket_id=basket_id, cursor=query.cursor, limit=query.limit, with_persons=False
    )
    body = {"documents": [DocumentOut.of(d) for d in page.documents], "next_cursor": page.next_cursor}
    return shaped_response(request, body)


class ActionIn(Schema):
    action: str
    document_ids: list[int]
    reason: str = ""
    to_basket: int | None = None


class ActionResultOut(Schema):
    document_id: int
    ok: bool
    reason: str


@router.post(
    "/documents/actions",
    response={200: list[ActionResultOut], **ERRORS},
    summary="Claim, accept, reject (with a reason) or transfer (with a reason) documents; one result per document "
    "(deprecated: POST /api/v1/baskets/actions)",
    deprecated=True,
)
def act(request: HttpRequest, payload: ActionIn):
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    ids = payload.document_ids
    if payload.action == "claim":
        results = services.claim_documents(actor=actor, document_ids=ids)
    elif payload.action == "accept":
        results = services.accept_documents(actor=actor, document_ids=ids)
    elif payload.action == "reject":
        results = services.reject_documents(actor=actor, document_ids=ids, reason=payload.reason)
    elif payload.action == "transfer":
        results = services.transfer_documents(
            actor=actor, document_ids=ids, reason=payload.reason, to_basket_id=payload.to_basket or 0
        )
    else:
        raise InvalidInput.from_fields({"action": "must be one of claim, accept, reject, transfer"})
    return [ActionResultOut(document_id=r.document_id, ok=r.ok, reason=r.reason) for r in results]
