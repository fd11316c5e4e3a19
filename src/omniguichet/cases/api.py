"""Case endpoints: event ingestion from back-office systems, and the person's own cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import BaseModel

from omniguichet.cases import services
from omniguichet.cases.models import EventType
from omniguichet.core.actors import Actor, Channel, insured_actor
from omniguichet.core.api import ErrorOut

router = Router(tags=["cases"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class EventResultOut(BaseModel):  # plain pydantic: 10,000 rows
    index: int
    event_id: str | None
    case_reference: str | None
    status: str = Field(
        ..., description="applied, held (waits for an earlier event of its case), duplicate, rejected"
    )
    message: str
    errors: dict[str, str]


class EventIngestOut(BaseModel):
    applied: int
    held: int
    duplicates: int
    rejected: int
    released: int = Field(..., description="events held by earlier batches and applied by this one")
    results: list[EventResultOut]


EVENT_ROW_SCHEMA = {
    "type": "object",
    "required": ["event_id", "case_reference", "sequence", "type", "occurred_at"],
    "properties": {
        "event_id": {"type": "string", "maxLength": 64},
        "case_reference": {"type": "string", "maxLength": 40},
        "sequence": {"type": "integer", "minimum": 1},
        "type": {"type": "string", "enum": EventType.values},
        "occurred_at": {"type": "string", "format": "date-time"},
        "payload": {"type": "object"},
    },
}


def report_dict(report: services.IngestReport) -> dict[str, Any]:
    return {
        "applied": report.count("applied"),
        "held": report.count("held"),
        "duplicates": report.count("duplicate"),
        "rejected": report.count("rejected"),
        "released": report.released,
        "results": [r.__dict__ for r in report.results],
    }


@router.post(
    "/case-events",
    response={200: EventIngestOut, **ERRORS},
    summary="Ingest case events from a back-office system (JSON array or NDJSON, at most 10,000)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": EVENT_ROW_SCHEMA, "maxItems": 10000}
                },
                "application/x-ndjson": {"schema": EVENT_ROW_SCHEMA},
            },
        }
    },
)
def ingest_case_events(request: HttpRequest) -> dict[str, Any]:
    actor = Actor.agent(request.user)  # type: ignore[arg-type]
    services.check_ingest_actor(actor)
    rows = services.parse_event_rows(request.body, request.content_type or "")
    report = services.ingest_case_events(
        actor=actor, channel=Channel.BACKOFFICE, rows=rows, source=request.user.get_username()
    )
    return report_dict(report)


class TimelineEntryOut(Schema):
    occurred_at: dt.datetime
    type: str
    text: str


class AwaitedDocumentOut(Schema):
    code: str
    label: str
    requested_at: dt.datetime
    due_on: dt.date | None


class CaseAppointmentOut(Schema):
    id: int
    motive: str
    motive_label: str
    start: dt.datetime
    status: str


class MyCaseOut(Schema):
    reference: str
    type: str
    type_label: str
    status: str
    status_label: str
    opened_at: dt.datetime
    expected_decision_on: dt.date | None
    awaited_documents: list[AwaitedDocumentOut]
    timeline: list[TimelineEntryOut]
    appointments: list[CaseAppointmentOut] = []


@router.get("/me/cases", response={200: list[MyCaseOut], 401: ErrorOut, 403: ErrorOut},
            summary="My cases and what happened to them, in plain words (for the insured person)")  # fmt: skip
def my_cases(request: HttpRequest) -> list[MyCaseOut]:
    actor = insured_actor(request.user)  # type: ignore[arg-type]
    views = services.my_cases(actor=actor)
    by_case = services.case_appointments([v.case.pk for v in views])
    return [
        MyCaseOut(
            reference=v.case.reference,
            type=v.case.case_type,
            type_label=str(v.type_label),
            status=v.case.status,
            status_label=str(v.status_label),
            opened_at=v.case.opened_at,
            expected_decision_on=v.case.expected_decision_on,
            awaited_documents=[
                AwaitedDocumentOut(code=d.code, label=d.label, requested_at=d.requested_at, due_on=d.due_on)
                for d in v.awaited_documents
            ],
            timeline=[
                TimelineEntryOut(occurred_at=e.occurred_at, type=e.event_type, text=e.text)
                for e in v.timeline
            ],
            appointments=[
                CaseAppointmentOut(
                    id=a.pk, motive=a.motive_id, motive_label=a.motive.label, start=a.start, status=a.status
                )
                for a in by_case.get(v.case.pk, [])
            ],
        )
        for v in views
    ]
