"""Customer-record endpoints: contact ingestion, person search, the record and its timeline, agent contacts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from omniguichet.core.actors import Channel, insured_actor, staff_actor
from omniguichet.core.api import ErrorOut, shaped_response
from omniguichet.core.batches import cyclic_gc_paused
from omniguichet.crm import services
from omniguichet.crm.models import Contact, Motive, RecordAccess
from omniguichet.referential.models import Person
from omniguichet.referential.validators import mask_nir

router = Router(tags=["customer record"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class MotiveOut(Schema):
    code: str
    label: str


class PersonSummaryOut(Schema):
    id: int
    nir_masked: str
    given_names: str
    family_name: str
    usage_name: str
    birth_date: dt.date
    caisse: str
    city: str

    @staticmethod
    def of(person: Person) -> dict[str, Any]:
        return {
            "id": person.pk, "nir_masked": mask_nir(person.nir), "given_names": person.given_names,
            "family_name": person.family_name, "usage_name": person.usage_name, "birth_date": person.birth_date,
            "caisse": person.caisse_id, "city": person.city,
        }  # fmt: skip


class ContactOut(Schema):
    id: int
    started_at: dt.datetime
    channel: str
    direction: str
    motive: str
    motive_label: str
    outcome: str
    actor: str
    agent: str | None
    online_action: bool = Field(
        ..., description="done by the person themselves on the web, the app or a kiosk"
    )
    note: str
    answered: bool | None
    responded_at: dt.datetime | None
    on_appointment: bool | None
    waited_seconds: int | None
    subject_kind: str = Field("", description="what the contact concerns: case, document, appointment, ...")
    subject_ref: str = ""

    @staticmethod
    def of(contact: Contact) -> dict[str, Any]:
        agent = contact.agent
        return {
            "id": contact.pk, "started_at": contact.started_at, "channel": contact.channel,
            "direction": contact.direction, "motive": contact.motive_id, "motive_label": contact.motive.label,
            "outcome": contact.outcome, "actor": contact.actor_kind,
            "agent": agent.get_username() if agent else None, "online_action": contact.is_online_action,
            "note": contact.note, "answered": contact.answered, "responded_at": contact.responded_at,
            "on_appointment": contact.on_appointment, "waited_seconds": contact.waited_seconds,
            "subject_kind": contact.subject_kind, "subject_ref": contact.subject_ref,
        }  # fmt: skip


class TimelineOut(Schema):
    contacts: list[ContactOut]
    next_cursor: str | None


class ContactPointOut(Schema):
    kind: str
    value: str
    verified: bool


class ConsentOut(Schema):
    purpose: str
    granted: bool
    decided_at: dt.datetime


class PreferenceOut(Schema):
    sms_allowed: bool
    email_allowed: bool
    paper_allowed: bool
    e_documents: bool
    preferred_channel: str


class AccountOut(Schema):
    status: str
    opened_at: dt.datetime


class RecordItemOut(Schema):
    ref: str
    label: str
    status: str
    when: dt.datetime | dt.date | None
    url: str


class RecordOut(Schema):
    person: PersonSummaryOut
    sex: str
    birth_place: str
    address: str
    status: str
    rights_from: dt.date | None
    rights_to: dt.date | None
    parent_id: int | None
    beneficiaries: list[PersonSummaryOut]
    contact_points: list[ContactPointOut]
    consents: list[ConsentOut]
    preferences: PreferenceOut | None
    account: AccountOut | None
    open_cases: list[RecordItemOut]
    next_appointments: list[RecordItemOut]
    recent_documents: list[RecordItemOut]
    timeline: TimelineOut


def _preferences(preference: Any) -> dict[str, Any] | None:
    if preference is None:
        return None
    names = ("sms_allowed", "email_allowed", "paper_allowed", "e_documents", "preferred_channel")
    return {name: getattr(preference, name) for name in names}


def _timeline_out(page: services.TimelinePage) -> dict[str, Any]:
    return {"contacts": [ContactOut.of(c) for c in page.contacts], "next_cursor": page.next_cursor}


class TimelineQuery(Schema):
    channel: str | None = None
    motive: str | None = None
    cursor: str | None = None
    limit: int = Field(services.TIMELINE_PAGE, ge=1, le=services.MAX_TIMELINE_PAGE)


class RecordQuery(TimelineQuery):
    purpose: str = Field(..., min_length=1, max_length=200, description="why the record is opened (audited)")


class SearchQuery(Schema):
    q: str = Field(..., description="NIR, NIR start + birth date, name + birth date, phone or e-mail")
    limit: int = Field(services.SEARCH_LIMIT, ge=1, le=50)


class AgentContactIn(Schema):
    channel: str = Field(..., description="phone, reception, email or letter")
    motive: str
    outcome: str = "resolved"
    note: str = Field("", max_length=4000)
    answered: bool | None = None
    on_appointment: bool | None = None
    waited_seconds: int | None = None


class RecordAccessOut(Schema):
    accessed_at: dt.datetime
    who: str = Field(..., description="the agent's name")
    caisse: str = Field(..., description="the agent's caisse, or the national level")
    purpose: str

    @staticmethod
    def of(access: RecordAccess) -> RecordAccessOut:
        user = access.user
        return RecordAccessOut(
            accessed_at=access.accessed_at,
            who=user.get_full_name() or _("an agent"),
            caisse=user.caisse.name if user.caisse else _("national level"),
            purpose=access.purpose,
        )


class RowResultOut(BaseModel):  # plain pydantic: no ORM-attribute lookups for 10,000 rows
    index: int
    external_id: str | None
    status: str = Field(..., description="created, duplicate or rejected")
    contact_id: int | None
    errors: dict[str, str]


class IngestOut(BaseModel):
    created: int
    duplicates: int
    rejected: int
    results: list[RowResultOut]


CONTACT_ROW_SCHEMA = {
    "type": "object",
    "required": ["external_id", "channel", "direction", "motive", "started_at"],
    "properties": {
        "external_id": {"type": "string", "maxLength": 128},
        "person_id": {"type": "integer"},
        "nir": {"type": "string"},
        "channel": {"type": "string", "enum": ["web", "app", "kiosk", "phone", "email", "reception", "letter",
                                                "sms", "push"]},
        "direction": {"type": "string", "enum": ["inbound", "outbound"]},
        "motive": {"type": "string"},
        "started_at": {"type": "string", "format": "date-time"},
        "outcome": {"type": "string", "enum": ["resolved", "transferred", "pending"]},
        "note": {"type": "string", "maxLength": 4000},
        "answered": {"type": ["boolean", "null"]},
        "responded_at": {"type": ["string", "null"], "format": "date-time"},
        "on_appointment": {"type": ["boolean", "null"]},
        "waited_seconds": {"type": ["integer", "null"], "minimum": 0},
        "subject_kind": {"type": "string", "enum": ["", "case", "document", "appointment", "message",
                                                    "teleservice", "ticket", "letter"]},
        "subject_ref": {"type": ["string", "integer"], "maxLength": 64},
    },
}  # fmt: skip


@router.get("/motives", response={200: list[MotiveOut], 401: ErrorOut}, summary="The contact motives")
def list_motives(request: HttpRequest) -> list[Motive]:
    return list(services.iter_motives())


@router.post(
    "/contacts",
    response={200: IngestOut, **ERRORS},
    summary="Ingest contacts from another system (JSON array or NDJSON, at most 10,000)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": CONTACT_ROW_SCHEMA, "maxItems": 10000}
                },
                "application/x-ndjson": {"schema": CONTACT_ROW_SCHEMA},
            },
        }
    },
)
def ingest_contacts(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    with cyclic_gc_paused():  # 10,000 rows: see core.batches
        rows = services.parse_contact_rows(request.body, request.content_type or "")
        results = services.ingest_contacts(
            actor=actor, channel=Channel.BACKOFFICE, rows=rows, source=request.user.get_username()
        )
        return shaped_response(
            request,
            {
                "created": sum(r.status == "created" for r in results),
                "duplicates": sum(r.status == "duplicate" for r in results),
                "rejected": sum(r.status == "rejected" for r in results),
                "results": [r.__dict__ for r in results],
            },
        )


@router.get("/persons/search", response={200: list[PersonSummaryOut], **ERRORS}, summary="Find persons")
def search_persons(request: HttpRequest, query: Query[SearchQuery]) -> HttpResponse:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    persons = services.search_persons(actor=actor, channel=Channel.BACKOFFICE, q=query.q, limit=query.limit)
    return shaped_response(request, [PersonSummaryOut.of(p) for p in persons])


@router.get(
    "/persons/{person_id}/record",
    response={200: RecordOut, **ERRORS},
    summary="Open a customer record (audited: who, when, why)",
)
def person_record(request: HttpRequest, person_id: int, query: Query[RecordQuery]) -> HttpResponse:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    record = services.open_record(
        actor=actor, channel=Channel.BACKOFFICE, person_id=person_id, purpose=query.purpose,
        timeline_channel=query.channel, timeline_motive=query.motive, cursor=query.cursor, limit=query.limit,
    )  # fmt: skip
    person, preference, account = record.person, record.preference, record.account
    return shaped_response(
        request,
        {
            "person": PersonSummaryOut.of(person),
            "sex": person.sex,
            "birth_place": person.birth_place,
            "address": " ".join(filter(None, [person.address_line, person.postcode, person.city])),
            "status": person.status,
            "rights_from": person.rights_from,
            "rights_to": person.rights_to,
            "parent_id": person.parent_id,
            "beneficiaries": [PersonSummaryOut.of(b) for b in record.beneficiaries],
            "contact_points": [
                {"kind": p.kind, "value": p.value, "verified": p.verified} for p in record.contact_points
            ],
            "consents": [
                {"purpose": c.purpose, "granted": c.granted, "decided_at": c.decided_at}
                for c in record.consents
            ],
            "preferences": _preferences(preference),
            "account": {"status": account.status, "opened_at": account.opened_at} if account else None,
            "open_cases": [vars(item) for item in record.open_cases],
            "next_appointments": [vars(item) for item in record.next_appointments],
            "recent_documents": [vars(item) for item in record.recent_documents],
            "timeline": _timeline_out(record.timeline),
        },
    )


@router.get(
    "/persons/{person_id}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="More of a record's timeline (the record must have been opened in the last 30 minutes)",
)
def person_timeline(request: HttpRequest, person_id: int, query: Query[TimelineQuery]) -> HttpResponse:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    page = services.consulted_timeline(
        actor=actor, person_id=person_id, channel=query.channel, motive=query.motive, cursor=query.cursor,
        limit=query.limit,
    )  # fmt: skip
    return shaped_response(request, _timeline_out(page))


@router.post(
    "/persons/{person_id}/contacts",
    response={201: ContactOut, **ERRORS},
    summary="Record a phone call, a reception visit, an e-mail or a letter handled by the agent",
)
def add_contact(request: HttpRequest, person_id: int, payload: AgentContactIn) -> Status[dict[str, Any]]:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    contact = services.add_agent_contact(actor=actor, person_id=person_id, **payload.dict())
    return Status(201, ContactOut.of(contact))


@router.get(
    "/me/audit",
    response={200: list[RecordAccessOut], 401: ErrorOut, 403: ErrorOut},
    summary="Who consulted my customer record (for the insured person)",
)
def my_audit(request: HttpRequest) -> list[RecordAccessOut]:
    actor = insured_actor(request.user)  # type: ignore[arg-type]
    return [RecordAccessOut.of(a) for a in services.my_record_accesses(actor=actor)]
