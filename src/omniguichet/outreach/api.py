"""Outreach endpoints: delivery receipts from message providers, and the person's account inbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import BaseModel

from omniguichet.core.actors import Actor, insured_actor
from omniguichet.core.api import ErrorOut
from omniguichet.core.text import parse_batch_rows
from omniguichet.outreach import services

router = Router(tags=["outbound messages"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 413: ErrorOut, 422: ErrorOut}

RECEIPT_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "provider_ref": {"type": "string", "maxLength": 200},
        "idempotency_key": {"type": "string", "maxLength": 200},
        "status": {"type": "string", "enum": ["delivered", "bounced", "failed"]},
        "at": {"type": "string", "format": "date-time"},
    },
}


class ReceiptResultOut(BaseModel):
    index: int
    status: str = Field(..., description="updated, unchanged (already known) or rejected")
    errors: dict[str, str]


class ReceiptsOut(BaseModel):
    updated: int
    unchanged: int
    rejected: int
    results: list[ReceiptResultOut]


@router.post(
    "/outreach/receipts",
    response={200: ReceiptsOut, **ERRORS},
    summary="Delivery receipts from a message provider (JSON array; replaying changes nothing)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "items": RECEIPT_SCHEMA}}},
        }
    },
)
def receipts(request: HttpRequest) -> dict[str, Any]:
    actor = Actor.agent(request.user)  # type: ignore[arg-type]
    services.check_receipt_actor(actor)
    rows = parse_batch_rows(
        request.body, request.content_type or "", not_a_list=_("must be a JSON array of receipts (or NDJSON)")
    )
    results = services.apply_receipts(actor=actor, rows=rows)
    return {
        "updated": sum(r.status == "updated" for r in results),
        "unchanged": sum(r.status == "unchanged" for r in results),
        "rejected": sum(r.status == "rejected" for r in results),
        "results": [r.__dict__ for r in results],
    }


class InboxMessageOut(Schema):
    id: int
    subject: str
    body: str
    received_at: dt.datetime
    read: bool


@router.get("/me/inbox", response={200: list[InboxMessageOut], 401: ErrorOut, 403: ErrorOut},
            summary="The messages in my online account (for the insured person)")  # fmt: skip
def my_inbox(request: HttpRequest) -> list[InboxMessageOut]:
    actor = insured_actor(request.user)  # type: ignore[arg-type]
    return [
        InboxMessageOut(
            id=m.pk, subject=m.subject, body=m.body, received_at=m.created_at, read=m.read_at is not None
        )
        for m in services.my_inbox(actor=actor)
    ]
