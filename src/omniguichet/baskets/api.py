"""The baskets of the back office: every kind of work item together (replaces the documents-only endpoints under
/api/v1/documents/baskets, kept for one release and marked deprecated)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema

from omniguichet.baskets import services
from omniguichet.baskets.models import WorkItem
from omniguichet.core.actors import staff_actor
from omniguichet.core.api import ErrorOut, shaped_response

router = Router(tags=["baskets"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class BasketOut(Schema):
    id: int
    caisse: str
    kind: str
    label: str
    open: int
    overdue: int
    by_kind: dict[str, int]


@router.get(
    "/baskets", response={200: list[BasketOut], **ERRORS}, summary="Baskets of my caisse, every kind of work"
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
            by_kind=s.by_kind,
        )
        for s in services.list_baskets(actor=actor)
    ]


class ItemOut(Schema):
    id: int
    kind: str
    subject_id: int
    summary: str
    person_id: int | None
    caisse: str
    basket: int
    received_at: dt.datetime
    deadline: dt.datetime
    status: str
    claimed_by: str | None
    transfers: int
    routed_by: str
    routing_confidence: float | None
    url: str

    @staticmethod
    def of(item: WorkItem) -> dict:
        return {
            "id": item.pk, "kind": item.kind, "subject_id": item.subject_id, "summary": services.describe(item),
            "person_id": item.person_id, "caisse": item.caisse_id, "basket": item.basket_id,
            "received_at": item.received_at, "deadline": item.deadline, "status": item.status,
            "claimed_by": item.claimed_by.username if item.claimed_by else None,
            "transfers": item.transfer_count, "routed_by": item.routed_by,
            "routing_confidence": item.routing_confidence, "url": services.item_url(item),
        }  # fmt: skip


class ItemPageOut(Schema):
    items: list[ItemOut]
    next_cursor: str | None


class PageQuery(Schema):
    cursor: str | None = None
    limit: int = services.BASKET_PAGE
    kind: str = ""


@router.get(
    "/baskets/{basket_id}/items",
    response={200: ItemPageOut, **ERRORS},
    summary="Open work items of a basket, every kind, oldest deadline first (keyset pagination)",
)
def basket_items(request: HttpRequest, basket_id: int, query: Query[PageQuery]):
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    page = services.basket_items(
        actor=actor, basket_id=basket_id, cursor=query.cursor, limit=query.limit, kind=query.kind,
        with_persons=True,
    )  # fmt: skip
    body = {"items": [ItemOut.of(i) for i in page.items], "next_cursor": page.next_cursor}
    return shaped_response(request, body)


@router.get("/baskets/items/{item_id}", response={200: ItemOut, **ERRORS}, summary="One work item")
def get_item(request: HttpRequest, item_id: int):
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    return ItemOut.of(services.get_item(actor=actor, item_id=item_id))


class ActionIn(Schema):
    action: str
    item_ids: list[int]
    reason: str = ""
    to_basket: int | None = None


class ActionResultOut(Schema):
    item_id: int
    ok: bool
    reason: str


@router.post(
    "/baskets/actions",
    response={200: list[ActionResultOut], **ERRORS},
    summary="Claim, transfer (with a reason) or a kind's own action (accept, reject...) on work items; one result "
    "per item",
)
def act(request: HttpRequest, payload: ActionIn):
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    if payload.action == "claim":
        results = services.claim_items(actor=actor, item_ids=payload.item_ids)
    elif payload.action == "transfer":
        results = services.transfer_items(
            actor=actor, item_ids=payload.item_ids, reason=payload.reason, to_basket_id=payload.to_basket or 0
        )
    else:
        results = services.run_kind_action(
            actor=actor, action=payload.action, item_ids=payload.item_ids, reason=payload.reason
        )
    return [ActionResultOut(item_id=r.item_id, ok=r.ok, reason=r.reason) for r in results]
