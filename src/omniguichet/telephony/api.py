"""The phone platform's events: POST /api/v1/telephony/events (NDJSON or a JSON array), one result per line."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router
from pydantic import BaseModel

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.api import ErrorBody, ErrorOut, shaped_response
from omniguichet.telephony import services

router = Router(tags=["telephony"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class LineOut(BaseModel):  # plain pydantic: no ORM-attribute lookups for 10,000 lines
    line: int = Field(..., description="the line's position in the batch, from 1")
    call_id: str | None
    event: str | None
    status: str = Field(..., description="stored, duplicate, held or error")
    error: ErrorBody | None = Field(None, description="when status is error: the fields and their reasons")


class EventsOut(BaseModel):
    stored: int
    held: int
    duplicates: int
    errors: int
    released: int = Field(..., description="events held by an earlier batch and applied by this one")
    ended: int = Field(..., description="calls ended by this batch")
    callbacks_offered: int
    results: list[LineOut]


EVENT_LINE_SCHEMA = {
    "type": "object",
    "required": ["call_id", "event", "at"],
    "properties": {
        "call_id": {"type": "string", "maxLength": 64},
        "event": {"type": "string", "enum": ["new", "ivr", "queued", "answer", "hangup"]},
        "at": {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset"},
        "from": {"type": "string", "maxLength": 40, "description": "the caller's number"},
        "to": {"type": "string", "maxLength": 40},
        "direction": {"type": "string", "enum": ["inbound", "outbound"], "default": "inbound"},
        "ivr_choice": {"type": "string", "maxLength": 16, "description": "required on ivr"},
        "agent": {
            "type": "string",
            "maxLength": 150,
            "description": "the answering agent's login, on answer",
        },
    },
}


@router.post(
    "/telephony/events",
    response={200: EventsOut, **ERRORS},
    summary="Ingest the phone platform's call events (NDJSON or a JSON array, at most 10,000 lines)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": EVENT_LINE_SCHEMA},
                "application/json": {
                    "schema": {"type": "array", "items": EVENT_LINE_SCHEMA, "maxItems": services.MAX_BATCH}
                },
            },
        }
    },
)
def ingest_events(request: HttpRequest) -> HttpResponse:
    actor = Actor.agent(request.user)  # type: ignore[arg-type]
    services.check_ingest_actor(actor)
    services.check_content_type(request.content_type or "")
    rows = services.parse_lines(request.body, request.content_type or "")
    report = services.ingest_events(
        actor=actor, channel=Channel.BACKOFFICE, rows=rows, source=request.user.get_username()
    )
    return shaped_response(
        request,
        {
            "stored": report.count("stored"),
            "held": report.count("held"),
            "duplicates": report.count("duplicate"),
            "errors": report.count("error"),
            "released": report.released,
            "ended": report.ended,
            "callbacks_offered": report.callbacks_offered,
            "results": [r.as_dict() for r in report.results],
        },
    )
