"""Cases from the back office: event ingestion (idempotent, in sequence order, all or nothing), the case timeline
in plain words for the person, and the "open cases" section of the customer record.

Other apps react to applied events through `register_event_handler` (outreach sends messages from them); the
handlers run in the ingestion transaction, so an event and what it triggers are written together or not at all.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from omniguichet.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    CaseType,
    EventState,
    EventType,
    PlatformEvent,
    PlatformEventType,
    RequestedDocument,
)
from omniguichet.core.actors import CONTACT_CHANNEL_VALUES, Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import (
    PreparedQuery,
    bulk_insert_rows,
    reserve_ids,
    update_rows,
    values_subquery,
)
from omniguichet.core.errors import Forbidden, InvalidInput, collect
from omniguichet.core.formatting import french_amount, french_date
from omniguichet.core.text import MAX_BATCH_ROWS, check_text, parse_batch_rows
from omniguichet.crm.models import Direction, SubjectKind
from omniguichet.referential import validators
from omniguichet.referential.models import Person, Role

M = TypeVar("M", bound=Model)
MAX_BATCH = MAX_BATCH_ROWS
MAX_ID = 2**63 - 1
EARLIEST_EVENT = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
MAX_AMOUNT = Decimal("10000000")
CASE_REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
DOCUMENT_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
INGEST_ROLES = frozenset({Role.BACKOFFICE_AGENT, Role.NATIONAL_SUPERVISOR})

# The motive of the contacts a case event records, by case type.
CASE_MOTIVES: dict[str, str] = {
    CaseType.SICK_PAY: "ij_suivi",
    CaseType.REIMBURSEMENT: "remboursement",
    CaseType.CSS: "css",
    CaseType.EUROPEAN_CARD: "carte_europeenne",
    CaseType.VITALE_CARD: "carte_vitale",
    CaseType.ADDRESS_CHANGE: "changement_adresse",
}
# Events the person did themselves (filed a request, sent a document): with a `channel` in their payload they
# are contacts of the person, recorded in the customer record.
PERSON_EVENTS = frozenset({EventType.OPENED, EventType.DOCUMENT_RECEIVED})

_EVENT_TYPES = frozenset(EventType.values)
_CASE_TYPES = frozenset(CaseType.values)
_CHANNELS = frozenset(CONTACT_CHANNEL_VALUES)


def _member(value: Any, choices: frozenset[str]) -> bool:
    """Membership for any JSON value (a list or an object is simply not a member)."""
    return isinstance(value, str) and value in choices


# --- event handlers (other apps) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AppliedEvent:
    event: CaseEvent
    case: Case


EventHandler = Callable[[list[AppliedEvent]], None]
_handlers: list[EventHandler] = []


def register_event_handler(handler: EventHandler) -> None:
    """Call `handler(applied_events)` after each ingestion, inside its transaction (from `AppConfig.ready()`)."""
    if handler not in _handlers:
        _handlers.append(handler)


# --- row parsing and validation ----------------------------------------------------------------------------
@dataclass
class RowResult:
    index: int
    event_id: str | None
    status: str  # applied, held, duplicate, rejected
    case_reference: str | None = None
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedEvent:
    result: RowResult
    event_id: str
    reference: str
    sequence: int
    event_type: str
    occurred_at: dt.datetime
    payload: dict[str, Any]


@dataclass
class IngestReport:
    results: list[RowResult]
    released: int = 0  # events held by an earlier batch and applied by this one

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def _date(fields: dict[str, str], name: str, value: Any, *, required: bool = False) -> str | None:
    if value in (None, ""):
        if required:
            fields[name] = _("is required")
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or not (1990 <= parsed.year <= 2200):
        fields[name] = _("is not a date (YYYY-MM-DD)")
        return None
    return parsed.isoformat()


def _text(fields: dict[str, str], name: str, value: Any, max_length: int, *, required: bool = False) -> str:
    if value in (None, "") and not required:
        return ""
    text = check_text(fields, name, value, max_length)
    if text is not None and not text.strip():
        fields[name] = _("is required")
    return (text or "").strip()


def _document_code(fields: dict[str, str], name: str, value: Any) -> str:
    if not isinstance(value, str) or not DOCUMENT_CODE_RE.match(value):
        fields[name] = _("must be a document code (lower-case letters, digits, - and _; at most 40)")
        return ""
    return value


def _channel(fields: dict[str, str], name: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    if not _member(value, _CHANNELS):
        fields[name] = _("unknown channel (one of %(all)s)") % {"all": ", ".join(CONTACT_CHANNEL_VALUES)}
        return ""
    return str(value)


def _amount(fields: dict[str, str], name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        fields[name] = _("is required: an amount in euros like 123.45")
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if (
        not amount.is_finite()
        or amount <= 0
        or amount >= MAX_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        fields[name] = _("must be a positive amount in euros with at most 2 decimals")
        return None
    return str(amount.quantize(Decimal("0.01")))


PAYLOAD_KEYS: dict[str, frozenset[str]] = {
    EventType.OPENED: frozenset({"person_id", "nir", "case_type", "expected_decision_on", "channel"}),
    EventType.DOCUMENT_MISSING: frozenset({"document", "label", "due_on"}),
    EventType.DOCUMENT_RECEIVED: frozenset({"document", "channel"}),
    EventType.EXPECTED_DATE_CHANGED: frozenset({"expected_decision_on"}),
    EventType.DECISION: frozenset({"outcome", "reason"}),
    EventType.PAYMENT: frozenset({"amount", "paid_on", "period_from", "period_to"}),
    EventType.CARD_SHIPPED: frozenset({"card"}),
    EventType.CLOSED: frozenset({"reason"}),
}


def _check_payload(fields: dict[str, str], event_type: str, payload: Any) -> dict[str, Any]:
    """The payload of one event type, checked and normalised (field names are prefixed with "payload.")."""
    if not isinstance(payload, dict):
        fields["payload"] = _("must be a JSON object")
        return {}
    unknown = sorted(set(payload) - PAYLOAD_KEYS[event_type])
    if unknown:
        fields["payload"] = _("unknown fields for %(type)s: %(names)s") % {
            "type": event_type,
            "names": ", ".join(str(u)[:40] for u in unknown[:5]),
        }
    out: dict[str, Any] = {}
    p = "payload."
    if event_type == EventType.OPENED:
        person_id, nir = payload.get("person_id"), payload.get("nir")
        if person_id is not None:
            if isinstance(person_id, int) and not isinstance(person_id, bool) and 0 < person_id <= MAX_ID:
                out["person_id"] = person_id
            else:
                fields[p + "person_id"] = _("must be a positive integer")
        elif nir is not None:
            checked = collect(fields, p + "nir", validators.validate_nir, str(nir)[:30])
            if checked:
                out["nir"] = checked
        else:
            fields[p + "person_id"] = _("person_id or nir is required")
        if not _member(payload.get("case_type"), _CASE_TYPES):
            fields[p + "case_type"] = _("must be one of %(all)s") % {"all": ", ".join(CaseType.values)}
        else:
            out["case_type"] = payload["case_type"]
        if (
            expected := _date(fields, p + "expected_decision_on", payload.get("expected_decision_on"))
        ) is not None:
            out["expected_decision_on"] = expected
        if channel := _channel(fields, p + "channel", payload.get("channel")):
            out["channel"] = channel
    elif event_type == EventType.DOCUMENT_MISSING:
        out["document"] = _document_code(fields, p + "document", payload.get("document"))
        out["label"] = _text(fields, p + "label", payload.get("label"), 120, required=True)
        if (due := _date(fields, p + "due_on", payload.get("due_on"))) is not None:
            out["due_on"] = due
    elif event_type == EventType.DOCUMENT_RECEIVED:
        out["document"] = _document_code(fields, p + "document", payload.get("document"))
        if channel := _channel(fields, p + "channel", payload.get("channel")):
            out["channel"] = channel
    elif event_type == EventType.EXPECTED_DATE_CHANGED:
        out["expected_decision_on"] = _date(
            fields, p + "expected_decision_on", payload.get("expected_decision_on"), required=True
        )
    elif event_type == EventType.DECISION:
        if payload.get("outcome") not in ("accepted", "refused"):
            fields[p + "outcome"] = _("must be accepted or refused")
        out["outcome"] = payload.get("outcome")
        if reason := _text(fields, p + "reason", payload.get("reason"), 200):
            out["reason"] = reason
    elif event_type == EventType.PAYMENT:
        out["amount"] = _amount(fields, p + "amount", payload.get("amount"))
        for name in ("paid_on", "period_from", "period_to"):
            if (value := _date(fields, p + name, payload.get(name))) is not None:
                out[name] = value
        if out.get("period_from") and out.get("period_to") and out["period_to"] < out["period_from"]:
            fields[p + "period_to"] = _("cannot be before period_from")
    elif event_type == EventType.CARD_SHIPPED:
        card = payload.get("card", "")
        if card not in ("", CaseType.VITALE_CARD, CaseType.EUROPEAN_CARD):
            fields[p + "card"] = _("must be vitale_card or european_card")
        elif card:
            out["card"] = card
    elif event_type == EventType.CLOSED and (
        reason := _text(fields, p + "reason", payload.get("reason"), 200)
    ):
        out["reason"] = reason
    return out


def _parse_row(index: int, row: Any, now: dt.datetime) -> RowResult | ParsedEvent:
    if not isinstance(row, dict):
        return RowResult(index, None, "rejected", errors={"row": _("must be a JSON object")})
    fields: dict[str, str] = {}
    event_id = check_text(fields, "event_id", row.get("event_id"), 64)
    if event_id is not None and not event_id.strip():
        fields["event_id"] = _("is required")
    reference = row.get("case_reference")
    if not isinstance(reference, str) or not CASE_REFERENCE_RE.match(reference):
        fields["case_reference"] = _("must be a case reference (letters, digits, . _ / -; at most 40)")
        reference = None
    sequence = row.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not (1 <= sequence <= 2_000_000_000):
        fields["sequence"] = _("must be a whole number from 1")
        sequence = None
    event_type = row.get("type")
    if not _member(event_type, _EVENT_TYPES):
        fields["type"] = _("unknown event type (one of %(all)s)") % {"all": ", ".join(EventType.values)}
        event_type = None
    occurred_raw = row.get("occurred_at")
    occurred_at = None
    try:
        occurred_at = parse_datetime(occurred_raw) if isinstance(occurred_raw, str) else None
    except ValueError:
        occurred_at = None
    if occurred_at is None:
        fields["occurred_at"] = _("is required: an ISO 8601 date and time with its offset")
    elif timezone.is_naive(occurred_at):
        fields["occurred_at"] = _("needs a time zone offset (ISO 8601, e.g. 2026-03-01T09:30:00+01:00)")
    elif occurred_at < EARLIEST_EVENT:
        fields["occurred_at"] = _("is before 1990")
    elif occurred_at > now + FUTURE_TOLERANCE:
        fields["occurred_at"] = _("is in the future")
    unknown = sorted(set(row) - {"event_id", "case_reference", "sequence", "type", "occurred_at", "payload"})
    if unknown:
        fields["row"] = _("unknown fields: %(names)s") % {
            "names": ", ".join(str(u)[:40] for u in unknown[:5])
        }
    payload: dict[str, Any] = {}
    if event_type is not None:
        payload = _check_payload(fields, event_type, row.get("payload", {}))
        if sequence is not None:
            if event_type == EventType.OPENED and sequence != 1:
                fields["sequence"] = _("the opened event is sequence 1")
            elif event_type != EventType.OPENED and sequence == 1:
                fields["sequence"] = _("sequence 1 is the opened event of the case")
    result = RowResult(index, event_id, "rejected", reference, errors=fields)
    if fields:
        return result
    assert event_id and reference and sequence and event_type and occurred_at
    return ParsedEvent(result, event_id, reference, sequence, event_type, occurred_at, payload)


def parse_event_rows(body: bytes, content_type: str) -> list[Any]:
    """A JSON array, or NDJSON (one object per line)."""
    return parse_batch_rows(
        body, content_type, not_a_list=_("must be a JSON array of case events (or NDJSON)")
    )


def check_ingest_actor(actor: Actor) -> None:
    """Back-office systems and national staff send case events; a back-office agent only for their caisse."""
    if actor.kind == ActorKind.SYSTEM:
        return
    user = actor.user
    if user is None or not (user.is_superuser or user.role in INGEST_ROLES):
        raise Forbidden(_("case events come from back-office systems (a back-office or national role)"))


# --- applying events ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _FieldPlan:
    defaults: dict[str, Any]  # attname -> constant default
    computed: list[tuple[str, Any]]  # (attname, field) of the defaults computed each time (dict, now...)
    relations: dict[str, tuple[str, Any]]  # field name -> (attname, field) of the foreign keys


@functools.cache
def _field_plan(model: type[Model]) -> _FieldPlan:
    fields = model._meta.concrete_fields
    computed = [(f.attname, f) for f in fields if f.has_default() and callable(f.default)]
    return _FieldPlan(
        defaults={
            f.attname: f.get_default() for f in fields if not (f.has_default() and callable(f.default))
        },
        computed=computed,
        relations={f.name: (f.attname, f) for f in fields if f.is_relation},
    )


def _instance(model: type[M], **values: Any) -> M:
    """A new model instance built without Model.__init__ (whose keyword handling costs more than the rest of
    applying an event, for the tens of thousands of events, cases and documents of a batch): every concrete
    field gets its value or its default; a related object given by field name is cached as the ORM caches it."""
    plan = _field_plan(model)
    obj = model.__new__(model)
    obj._state = ModelState()
    attrs = obj.__dict__
    attrs.update(plan.defaults)
    for attname, f in plan.computed:
        if attname not in values:
            attrs[attname] = f.get_default()
    for name, value in values.items():
        relation = plan.relations.get(name)
        if relation is None:
            attrs[name] = value
        else:
            attrs[relation[0]] = value.pk
            relation[1].set_cached_value(obj, value)
    return obj


_EVENT_CASE = CaseEvent._meta.get_field("case")


def _apply(case: Case, event: CaseEvent, documents: dict[int, dict[str, RequestedDocument]], now: dt.datetime,
           touched_docs: dict[tuple[int, str], RequestedDocument]) -> None:  # fmt: skip
    """Move a case by one event (in memory; the caller writes)."""
    payload = event.payload
    kind = event.event_type
    if kind == EventType.DOCUMENT_MISSING:
        key = (case.pk, payload["document"])
        doc = documents[case.pk].get(payload["document"])
        if doc is None:
            doc = _instance(RequestedDocument, case=case, code=payload["document"])
            documents[case.pk][payload["document"]] = doc
        doc.label = payload["label"]
        doc.requested_at = event.occurred_at
        doc.due_on = parse_date(payload["due_on"]) if payload.get("due_on") else None
        doc.received_at = None
        doc.reminded_at = None
        touched_docs[key] = doc
        if case.status in (CaseStatus.OPEN, CaseStatus.IN_PROGRESS):
            case.status = CaseStatus.WAITING_DOCUMENTS
    elif kind == EventType.DOCUMENT_RECEIVED:
        key = (case.pk, payload["document"])
        doc = documents[case.pk].get(payload["document"])
        if doc is None:  # received without having been asked for: noted all the same
            doc = _instance(RequestedDocument, case=case, code=payload["document"], label=payload["document"],
                            requested_at=event.occurred_at)  # fmt: skip
            documents[case.pk][payload["document"]] = doc
        doc.received_at = event.occurred_at
        touched_docs[key] = doc
        awaited = any(d.received_at is None for d in documents[case.pk].values())
        if case.status == CaseStatus.WAITING_DOCUMENTS and not awaited:
            case.status = CaseStatus.IN_PROGRESS
    elif kind == EventType.EXPECTED_DATE_CHANGED:
        case.expected_decision_on = parse_date(payload["expected_decision_on"])
    elif kind == EventType.DECISION:
        if case.status != CaseStatus.CLOSED:
            case.status = CaseStatus.ACCEPTED if payload["outcome"] == "accepted" else CaseStatus.REFUSED
    elif kind == EventType.CLOSED:
        case.status = CaseStatus.CLOSED
        case.closed_at = event.occurred_at
    case.last_sequence = event.sequence
    case.updated_at = now
    event.state = EventState.APPLIED
    event.applied_at = now


def ingest_case_events(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, rows: list[Any], source: str, _retried: bool = False
) -> IngestReport:
    """Apply a batch of back-office case events. Each row is applied, held (it arrived before an event of its
    case with a smaller sequence number: it applies when the gap fills), a duplicate (its event_id was already
    received: replaying a batch changes nothing) or rejected with its reasons (nothing of it is written).
    The whole batch and what it triggers (messages) are written in one transaction."""
    check_ingest_actor(actor)
    if len(rows) > MAX_BATCH:
        raise InvalidInput.from_fields(
            {"body": _("at most %(max)d events per batch, got %(n)d") % {"max": MAX_BATCH, "n": len(rows)}}
        )
    now = timezone.now()
    results: list[RowResult] = []
    parsed: list[ParsedEvent] = []
    for index, row in enumerate(rows):
        item = _parse_row(index, row, now)
        if isinstance(item, ParsedEvent):
            results.append(item.result)
            parsed.append(item)
        else:
            results.append(item)
    try:
        with transaction.atomic():
            released = _ingest_parsed(actor, parsed, source[:64], now)
    except IntegrityError:
        if _retried:
            raise
        # Another batch stored some of the same events meanwhile: run again once, they are now duplicates.
        return ingest_case_events(actor=actor, channel=channel, rows=rows, source=source, _retried=True)
    return IngestReport(results, released)


def _ingest_parsed(actor: Actor, parsed: list[ParsedEvent], source: str, now: dt.datetime) -> int:
    if not parsed:
        return 0
    # Every look-up of a batch passes its keys as ONE parameter (core.db.values_subquery): a 10,000-item IN
    # list costs more to build, send and plan than the look-up itself.
    known_ids = set(
        CaseEvent.objects.filter(
            event_id__in=values_subquery({p.event_id for p in parsed}, of="text")
        ).values_list("event_id", flat=True)
    )
    fresh: list[ParsedEvent] = []
    seen_ids: set[str] = set()
    for p in parsed:
        if p.event_id in known_ids or p.event_id in seen_ids:
            p.result.status, p.result.message = "duplicate", _("already received")
        else:
            seen_ids.add(p.event_id)
            fresh.append(p)
    references = {p.reference for p in fresh}
    # Locked (PostgreSQL) so that two batches of the same case apply one after the other; in id order, so that
    # two batches sharing cases lock them in the same order (never a deadlock).
    cases_qs = (
        Case.objects.filter(reference__in=values_subquery(references, of="text"))
        .select_related("person")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    all_cases = {c.reference: c for c in cases_qs}
    visible = {ref: c for ref, c in all_cases.items() if _sees(actor, c.caisse_id)}

    # Persons of the opened events.
    person_ids = {p.payload["person_id"] for p in fresh if "person_id" in p.payload}
    nirs = {p.payload["nir"] for p in fresh if "nir" in p.payload}
    persons_qs = scope_to_caisse(Person.objects.all(), actor)
    by_id = (
        {person.pk: person for person in persons_qs.filter(pk__in=values_subquery(person_ids, of="bigint"))}
        if person_ids
        else {}
    )
    by_nir = (
        {person.nir: person for person in persons_qs.filter(nir__in=values_subquery(nirs, of="text"))}
        if nirs
        else {}
    )

    case_ids = [c.pk for c in visible.values()]
    held_events = (
        list(
            CaseEvent.objects.filter(
                case_id__in=values_subquery(case_ids, of="bigint"), state=EventState.HELD
            )
        )
        if case_ids
        else []
    )
    held_by_case: dict[int, dict[int, CaseEvent]] = defaultdict(dict)
    for event in held_events:
        held_by_case[event.case_id][event.sequence] = event
    documents: dict[int, dict[str, RequestedDocument]] = defaultdict(dict)
    case_docs = (
        RequestedDocument.objects.filter(case_id__in=values_subquery(case_ids, of="bigint"))
        if case_ids
        else ()
    )
    for doc in case_docs:
        documents[doc.case_id][doc.code] = doc

    new_cases: dict[str, Case] = {}
    pending: dict[str, dict[int, tuple[ParsedEvent | None, CaseEvent]]] = defaultdict(dict)
    # Opened events first: a batch may carry a case's later events before its opening.
    for p in sorted(fresh, key=lambda p: p.event_type != EventType.OPENED):
        result = p.result
        case = visible.get(p.reference) or new_cases.get(p.reference)
        if p.event_type == EventType.OPENED:
            if p.reference in all_cases or p.reference in new_cases:
                result.errors = {"case_reference": _("this case was already opened")}
                continue
            person = (
                by_id.get(p.payload["person_id"])
                if "person_id" in p.payload
                else by_nir.get(p.payload["nir"])
            )
            if person is None:
                name = "payload.person_id" if "person_id" in p.payload else "payload.nir"
                result.errors = {name: _("unknown person")}
                continue
            case = _instance(
                Case, reference=p.reference, case_type=p.payload["case_type"], person=person,
                caisse_id=person.caisse_id, status=CaseStatus.OPEN, opened_at=p.occurred_at, updated_at=now,
                last_sequence=0,
                expected_decision_on=parse_date(p.payload["expected_decision_on"])
                if p.payload.get("expected_decision_on") else None,
            )  # fmt: skip
            new_cases[p.reference] = case
        elif case is None:
            result.errors = {
                "case_reference": _("unknown case (its opened event must come first, or in the same batch)")
            }
            continue
        else:
            held = held_by_case.get(case.pk, {}) if case.pk else {}
            if p.sequence <= case.last_sequence:
                result.errors = {
                    "sequence": _("event %(n)d of this case was already applied") % {"n": p.sequence}
                }
                continue
            if p.sequence in held or p.sequence in pending[p.reference]:
                result.errors = {
                    "sequence": _("event %(n)d of this case was already received") % {"n": p.sequence}
                }
                continue
        event = _instance(
            CaseEvent, event_id=p.event_id, sequence=p.sequence, event_type=p.event_type, occurred_at=p.occurred_at,
            payload=p.payload, state=EventState.HELD, source=source, received_at=now,
        )  # fmt: skip
        pending[p.reference][p.sequence] = (p, event)

    for p in fresh:
        if p.result.errors:
            p.result.status = "rejected"

    # New cases need their ids before their events apply. PostgreSQL: reserved from the sequence, and the cases
    # are written once, by COPY, in the state their events leave them. SQLite: inserted first, updated after.
    new_ids = reserve_ids(Case, len(new_cases))
    if new_ids is not None:
        for case, pk in zip(new_cases.values(), new_ids, strict=True):
            case.pk = pk
    elif new_cases:
        Case.objects.bulk_create(list(new_cases.values()))
    applied: list[AppliedEvent] = []
    touched_cases: dict[int, Case] = {}
    touched_docs: dict[tuple[int, str], RequestedDocument] = {}
    released: list[CaseEvent] = []
    new_events: list[CaseEvent] = []
    for reference, by_sequence in pending.items():
        case = visible.get(reference) or new_cases[reference]
        waiting: dict[int, tuple[ParsedEvent | None, CaseEvent]] = {
            seq: (None, ev) for seq, ev in held_by_case.get(case.pk, {}).items()
        }
        waiting.update(by_sequence)
        for _parsed, event in by_sequence.values():
            event.case_id = case.pk
            _EVENT_CASE.set_cached_value(event, case)
            new_events.append(event)
        while (case.last_sequence + 1) in waiting:
            parsed_event, event = waiting.pop(case.last_sequence + 1)
            _apply(case, event, documents, now, touched_docs)
            applied.append(AppliedEvent(event, case))
            if parsed_event is None:
                released.append(event)
            else:
                parsed_event.result.status = "applied"
            touched_cases[case.pk] = case
        for parsed_event, event in by_sequence.values():
            if parsed_event is not None and event.state == EventState.HELD:
                parsed_event.result.status = "held"
                parsed_event.result.message = _("held until event %(n)d of this case arrives") % {
                    "n": case.last_sequence + 1
                }
    if new_ids is not None:
        _insert_cases(list(new_cases.values()))
    _insert_events(new_events)
    if released:
        CaseEvent.objects.filter(pk__in=values_subquery([e.pk for e in released], of="bigint")).update(
            state=EventState.APPLIED, applied_at=now
        )
    to_update = [c for c in touched_cases.values() if new_ids is None or c.reference not in new_cases]
    update_rows(to_update, ["status", "expected_decision_on", "closed_at", "last_sequence", "updated_at"])
    if touched_docs:
        _insert_documents([d for d in touched_docs.values() if d.pk is None])
        updating = [d for d in touched_docs.values() if d.pk is not None]
        update_rows(updating, ["label", "requested_at", "due_on", "received_at", "reminded_at"])
    if applied:
        _record_person_contacts(applied)
        for handler in _handlers:
            handler(applied)
    return len(released)


EVENT_COLUMNS = ["event_id", "case_id", "sequence", "event_type", "occurred_at", "payload", "state", "source",
                 "received_at", "applied_at"]  # fmt: skip


CASE_COLUMNS = ["id", "reference", "case_type", "person_id", "caisse_id", "status", "expected_decision_on",
                "opened_at", "closed_at", "last_sequence", "updated_at"]  # fmt: skip
DOCUMENT_COLUMNS = ["case_id", "code", "label", "requested_at", "due_on", "received_at", "reminded_at"]


def _insert_cases(cases: list[Case]) -> None:
    """New cases with their reserved ids, by COPY (PostgreSQL)."""
    bulk_insert_rows(Case, CASE_COLUMNS, (
        (c.pk, c.reference, c.case_type, c.person_id, c.caisse_id, c.status, c.expected_decision_on, c.opened_at,
         c.closed_at, c.last_sequence, c.updated_at)
        for c in cases
    ))  # fmt: skip


def _insert_documents(documents: list[RequestedDocument]) -> None:
    """Newly requested (or received unasked) documents; their ids are not needed afterwards."""
    adapt = connection.ops.adapt_datetimefield_value
    adapt_date = connection.ops.adapt_datefield_value
    bulk_insert_rows(RequestedDocument, DOCUMENT_COLUMNS, (
        (d.case.pk, d.code, d.label, adapt(d.requested_at), adapt_date(d.due_on), adapt(d.received_at),
         adapt(d.reminded_at))
        for d in documents
    ))  # fmt: skip


def _insert_events(events: list[CaseEvent]) -> None:
    """Raw bulk insert (COPY on PostgreSQL): every field was checked; the ids are not needed afterwards."""
    adapt = connection.ops.adapt_datetimefield_value
    bulk_insert_rows(CaseEvent, EVENT_COLUMNS, (
        (e.event_id, e.case.pk, e.sequence, e.event_type, adapt(e.occurred_at), json.dumps(e.payload), e.state,
         e.source, adapt(e.received_at), adapt(e.applied_at))
        for e in events
    ))  # fmt: skip


def _sees(actor: Actor, caisse_code: str) -> bool:
    if actor.sees_all_caisses:
        return True
    return actor.kind == ActorKind.AGENT and actor.caisse_code == caisse_code


# Contacts of case events have the external id "case-event-<event_id>" in this source: a replay records nothing.
CONTACT_SOURCE = "cases"


def _record_person_contacts(applied: Iterable[AppliedEvent]) -> None:
    """Events the person did through a channel (filed a request, sent a document) go to their record, all of a
    batch through the crm's batch writer (one bulk insert instead of one insert per event)."""
    from omniguichet.crm.services import ingest_contacts

    rows = [
        {
            "external_id": f"case-event-{item.event.event_id}", "person_id": item.case.person_id,
            "channel": item.event.payload["channel"], "direction": Direction.INBOUND,
            "motive": CASE_MOTIVES[item.case.case_type], "started_at": item.event.occurred_at.isoformat(),
            "note": describe_event(item.event.event_type, item.event.payload),
            "subject_kind": SubjectKind.CASE, "subject_ref": item.case.pk,
        }
        for item in applied
        if item.event.event_type in PERSON_EVENTS and item.event.payload.get("channel")
    ]  # fmt: skip
    if not rows:
        return
    results = ingest_contacts(
        actor=Actor.system("backoffice"), channel=Channel.BACKOFFICE, rows=rows, source=CONTACT_SOURCE
    )
    refused = [r for r in results if r.status == "rejected"]
    if refused:  # the event was checked already: a refusal here is a bug, not bad input
        raise InvalidInput.from_fields({"contact": str(refused[0].errors)})


# --- plain words -------------------------------------------------------------------------------------------
def describe_event(event_type: str, payload: dict[str, Any]) -> str:
    """One event in plain words, for the person's timeline."""
    if event_type == EventType.OPENED:
        return _("Your request was registered.")
    if event_type == EventType.DOCUMENT_MISSING:
        text = _("We need a document from you: %(label)s.") % {"label": payload.get("label", "")}
        if payload.get("due_on"):
            text += " " + _("Please send it before %(date)s.") % {"date": french_date(payload["due_on"])}
        return text
    if event_type == EventType.DOCUMENT_RECEIVED:
        return _("We received your document.")
    if event_type == EventType.EXPECTED_DATE_CHANGED:
        return _("We expect to decide by %(date)s.") % {
            "date": french_date(payload.get("expected_decision_on"))
        }
    if event_type == EventType.DECISION:
        if payload.get("outcome") == "accepted":
            return _("Your request was accepted.")
        return _("Your request was refused.") + (f" {payload['reason']}" if payload.get("reason") else "")
    if event_type == EventType.PAYMENT:
        text = _("We paid you %(amount)s") % {"amount": french_amount(payload.get("amount", "0"))}
        if payload.get("paid_on"):
            text += " " + _("on %(date)s") % {"date": french_date(payload["paid_on"])}
        return text + "."
    if event_type == EventType.CARD_SHIPPED:
        return _("Your card was sent by post.")
    if event_type == EventType.CLOSED:
        return _("Your case is closed.")
    return str(event_type)


@dataclass
class TimelineEntry:
    sequence: int
    occurred_at: dt.datetime
    event_type: str
    text: str


@dataclass
class CaseView:
    case: Case
    type_label: str
    status_label: str
    awaited_documents: list[RequestedDocument]
    timeline: list[TimelineEntry]

    @property
    def decision_expected_on(self) -> dt.date | None:
        """The expected decision date, while a decision is still awaited (not once accepted, refused, closed)."""
        awaiting = (CaseStatus.OPEN, CaseStatus.WAITING_DOCUMENTS, CaseStatus.IN_PROGRESS)
        return self.case.expected_decision_on if self.case.status in awaiting else None


def my_cases(*, actor: Actor, channel: str = Channel.WEB, limit: int = 20) -> list[CaseView]:
    """The acting insured person's cases, newest first, each with its timeline in plain words (4 queries)."""
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves reads this"))
    cases = list(
        Case.objects.filter(person_id=actor.person_id).order_by("-opened_at", "-id")[
            : max(1, min(limit, 100))
        ]
    )
    ids = [c.pk for c in cases]
    events: dict[int, list[TimelineEntry]] = defaultdict(list)
    for event in CaseEvent.objects.filter(case_id__in=ids, state=EventState.APPLIED).order_by(
        "case_id", "sequence"
    ):
        events[event.case_id].append(
            TimelineEntry(
                event.sequence,
                event.occurred_at,
                event.event_type,
                describe_event(event.event_type, event.payload),
            )
        )
    docs: dict[int, list[RequestedDocument]] = defaultdict(list)
    for doc in RequestedDocument.objects.filter(case_id__in=ids, received_at__isnull=True).order_by(
        "requested_at"
    ):
        docs[doc.case_id].append(doc)
    platform = platform_timeline(ids)  # documents deposited through the platform (issue 6)
    return [
        CaseView(
            c,
            c.get_case_type_display(),
            c.get_status_display(),
            docs[c.pk],
            merge_timeline(events[c.pk], platform.get(c.pk, [])),
        )
        for c in cases
    ]


# Part of every record opening: compiled once (core.db.PreparedQuery).
_OPEN_CASES = PreparedQuery(
    lambda *, person_id: Case.objects.filter(person_id=person_id, status__in=OPEN_STATUSES).order_by(
        "-opened_at", "-id"
    )[:5]
)


def open_cases_section(person: Person) -> list:
    """The "open cases" section of the customer record: one query."""
    from omniguichet.crm.services import RecordItem

    cases = _OPEN_CASES(person_id=person.pk)
    return [
        RecordItem(
            ref=c.reference,
            label=str(c.get_case_type_display()),
            status=str(c.get_status_display()),
            when=c.expected_decision_on or c.opened_at,
        )
        for c in cases
    ]


# --- documents deposited through the platform for a case (the "case_request" deposit purpose) ---------------
# (issue 6) A case's requested document (RequestedDocument, made by a document_missing event) is a purpose the
# person deposits for, from their account, the app or a kiosk. The deposit marks the document received and
# records a PlatformEvent: the platform's events are kept OUT of the back office's per-case sequence (see
# docs/cases-and-messages.md), so they never collide with, nor hold back, the back office's next event.

# The DocumentType a document code of the back office stands for (codes are the back office's own slugs).
CASE_DOCUMENT_TYPES: dict[str, tuple[str, ...]] = {
    "rib": ("bank_details",),
    "attestation-salaire": ("salary_certificate",),
    "arret-travail": ("sick_leave_form",),
    "avis-arret-travail": ("sick_leave_form",),
    "avis-imposition": ("proof_of_income",),
    "justificatif-revenus": ("proof_of_income",),
    "justificatif-domicile": ("proof_of_address",),
    "acte-naissance": ("birth_certificate",),
    "piece-identite": ("identity_document",),
    "photo": ("identity_document",),
}
# The kind of processing (documents.ProcessingKind) of a case's documents when no routing rule decides.
CASE_PROCESSING: dict[str, str] = {
    CaseType.SICK_PAY: "ij",
    CaseType.REIMBURSEMENT: "remboursements",
    CaseType.CSS: "c2s",
    CaseType.EUROPEAN_CARD: "droits",
    CaseType.VITALE_CARD: "droits",
    CaseType.ADDRESS_CHANGE: "droits",
}


def case_document_types(code: str) -> tuple[str, ...]:
    """The document types accepted for a requested document: the known code's, a code that is itself a type, or
    (a code the platform does not know) every type, the person saying which one it is."""
    from omniguichet.documents.models import DocumentType

    if code in CASE_DOCUMENT_TYPES:
        return CASE_DOCUMENT_TYPES[code]
    if code.replace("-", "_") in DocumentType.values:
        return (code.replace("-", "_"),)
    return tuple(DocumentType.values)


def _no_such_request() -> Exception:
    from omniguichet.core.errors import NotFound

    return NotFound(_("no such request for this person"))


def _case_request_refusal(doc: RequestedDocument) -> str:
    if doc.case.status not in OPEN_STATUSES:
        return _("this case is closed: documents can no longer be deposited for it")
    if doc.received_at is not None:
        return _("this document was already received on %(date)s") % {"date": french_date(doc.received_at)}
    return ""


def _case_request_purpose(doc: RequestedDocument) -> Any:
    from omniguichet.documents.services import DepositPurpose

    case = doc.case
    refusal = _case_request_refusal(doc)
    return DepositPurpose(
        label=_("%(label)s — case %(reference)s (%(type)s)")
        % {"label": doc.label, "reference": case.reference, "type": case.get_case_type_display()},
        expected_types=case_document_types(doc.code),
        is_open=not refusal,
        person_id=case.person_id,
        processing_hint=CASE_PROCESSING.get(case.case_type, ""),
        on_deposit=functools.partial(record_document_received, requested_document_id=doc.pk),
        refusal=refusal,
    )


def resolve_case_request(person: Person, ref: str) -> Any:
    """The deposit purpose "case_request": `ref` is the id of the case's RequestedDocument. Another person's
    request answers like a missing one (the documents service compares `person_id`); a closed case or a document
    already received is refused with its reason."""
    if not ref.isdigit() or len(ref) > 18:
        raise _no_such_request()
    doc = RequestedDocument.objects.select_related("case").filter(pk=int(ref)).first()
    if doc is None:
        raise _no_such_request()
    return _case_request_purpose(doc)


def list_case_requests(person: Person) -> list:
    """The person's requested documents still awaited in their open cases (one query), as deposit purposes."""
    from omniguichet.documents.services import OpenPurpose

    docs = (
        RequestedDocument.objects.filter(
            case__person_id=person.pk, case__status__in=OPEN_STATUSES, received_at__isnull=True
        )
        .select_related("case")
        .order_by("-requested_at", "-id")[:50]
    )
    return [
        OpenPurpose("case_request", str(doc.pk), _case_request_purpose(doc), doc.requested_at) for doc in docs
    ]


def record_document_received(documents: list, channel: str, *, requested_document_id: int) -> PlatformEvent:
    """A deposit for a case's requested document (called inside the deposit's transaction): the document is
    received (so the person's list of awaited documents and the outreach reminder stop waiting for it) and a
    `document_received` PlatformEvent goes on the case's timeline. The case's status is left to the back office:
    it moves when the back office's own `document_received` event comes, after its agents processed the basket.
    The row is locked: of two concurrent deposits for the same request, the second is refused (and rolled back
    whole)."""
    from omniguichet.core.errors import Conflict

    doc = (
        RequestedDocument.objects.select_for_update(of=("self",))
        .select_related("case")
        .get(pk=requested_document_id)
    )
    refusal = _case_request_refusal(doc)
    if refusal:
        raise Conflict(refusal)
    first = documents[0]
    doc.received_at = first.received_at
    doc.save(update_fields=["received_at"])
    return PlatformEvent.objects.create(
        key=f"deposit-{first.deposit_id}",
        case=doc.case,
        event_type=PlatformEventType.DOCUMENT_RECEIVED,
        document_code=doc.code,
        occurred_at=first.received_at,
        payload={"label": doc.label, "channel": channel, "documents": [d.pk for d in documents]},
    )


def reopen_case_request(document: Any, reason: str) -> None:
    """A basket agent rejected a document deposited for a case's request (inside the rejection's transaction):
    the case waits for the document again (the person can deposit again; the reminder may follow) and the
    timeline says why. Replaying the rejection of the same document records nothing more."""
    ref = document.purpose_ref
    if not ref.isdigit() or len(ref) > 18:
        return
    doc = (
        RequestedDocument.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(pk=int(ref))
        .first()
    )
    if doc is None or PlatformEvent.objects.filter(key=f"rejected-{document.pk}").exists():
        return
    if doc.case.status in OPEN_STATUSES and doc.received_at is not None:
        doc.received_at = None
        doc.save(update_fields=["received_at"])
    PlatformEvent.objects.create(
        key=f"rejected-{document.pk}",
        case=doc.case,
        event_type=PlatformEventType.DOCUMENT_REJECTED,
        document_code=doc.code,
        occurred_at=document.decided_at or timezone.now(),
        payload={"label": doc.label, "reason": reason, "document": document.pk},
    )


def requested_document_for(*, actor: Actor, reference: str, code: str) -> RequestedDocument:
    """The requested document a message's deposit link names (/compte/dossiers/<reference>/pieces/<code>), for
    the insured person whose case it is; anything else answers NotFound."""
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves reads this"))
    if not CASE_REFERENCE_RE.match(reference) or not DOCUMENT_CODE_RE.match(code):
        raise _no_such_request()
    doc = RequestedDocument.objects.filter(
        case__reference=reference, case__person_id=actor.person_id, code=code
    ).first()
    if doc is None:
        raise _no_such_request()
    return doc


def describe_platform_event(event: PlatformEvent) -> str:
    label = event.payload.get("label") or event.document_code
    if event.event_type == PlatformEventType.DOCUMENT_REJECTED:
        return _("Your document (%(label)s) could not be accepted: %(reason)s. Please send it again.") % {
            "label": label,
            "reason": event.payload.get("reason", ""),
        }
    return _("We received your document: %(label)s.") % {"label": label}


def platform_timeline(case_ids: list[int]) -> dict[int, list[TimelineEntry]]:
    """The platform's events of these cases, by case, oldest first (one query)."""
    entries: dict[int, list[TimelineEntry]] = defaultdict(list)
    if not case_ids:
        return entries
    for event in PlatformEvent.objects.filter(case_id__in=case_ids).order_by("case_id", "occurred_at", "id"):
        entries[event.case_id].append(
            TimelineEntry(0, event.occurred_at, event.event_type, describe_platform_event(event))
        )
    return entries


def merge_timeline(backoffice: list[TimelineEntry], platform: list[TimelineEntry]) -> list[TimelineEntry]:
    """The back office's events stay in their sequence order; each platform event goes before the first back-office
    event that happened after it."""
    if not platform:
        return backoffice
    merged: list[TimelineEntry] = []
    waiting = iter(platform)
    pending = next(waiting, None)
    for entry in backoffice:
        while pending is not None and pending.occurred_at < entry.occurred_at:
            merged.append(pending)
            pending = next(waiting, None)
        merged.append(entry)
    if pending is not None:
        merged.append(pending)
        merged.extend(waiting)
    return merged


# --- cases the platform opens itself (added by the online services, issue 4) -------------------------------
PLATFORM_SOURCE = "platform"


def open_case_from_request(
    *,
    actor: Actor,
    channel: str,
    person: Person,
    case_type: str,
    reference: str,
    required_documents: Iterable[tuple[str, str]] = (),
    documents_due_on: dt.date | None = None,
    expected_decision_on: dt.date | None = None,
) -> Case:
    """Open a case for a request the person filed on the platform (e.g. the CSS online service), through the
    same ingestion as the back office's events: the "opened" event is sequence 1 (event id "<reference>:opened",
    so a replay is a duplicate), its handlers run (outreach's "request registered" message). The documents the
    case needs are written as awaited documents, NOT as events: the platform never takes another sequence number
    of the case, the back office numbers every later event from 2 on (see docs/cases.md). The caller authorised
    the actor for the person (the online services' checks); the opening itself is the platform's. No contact is
    recorded here: the request that opened the case is the contact. Replayed with the same reference: the case
    already opened, unchanged."""
    existing = Case.objects.filter(reference=reference).first()
    if existing is not None:
        if existing.person_id != person.pk:
            raise InvalidInput.from_fields({"reference": _("this case was already opened")})
        return existing
    now = timezone.now()
    payload: dict[str, Any] = {"person_id": person.pk, "case_type": case_type}
    if expected_decision_on is not None:
        payload["expected_decision_on"] = expected_decision_on.isoformat()
    row = {"event_id": f"{reference}:opened"[:64], "case_reference": reference, "sequence": 1, "type": "opened",
           "occurred_at": now.isoformat(), "payload": payload}  # fmt: skip
    with transaction.atomic():
        report = ingest_case_events(actor=Actor.system(PLATFORM_SOURCE), rows=[row], source=PLATFORM_SOURCE)
        [result] = report.results
        if result.status not in ("applied", "duplicate"):
            raise InvalidInput.from_fields(result.errors or {"reference": result.message})
        case = Case.objects.get(reference=reference)
        docs = [
            RequestedDocument(
                case=case, code=code, label=label[:120], requested_at=now, due_on=documents_due_on
            )
            for code, label in required_documents
        ]
        if docs:
            RequestedDocument.objects.bulk_create(docs, ignore_conflicts=True)
            if case.status == CaseStatus.OPEN:
                case.status = CaseStatus.WAITING_DOCUMENTS
                case.save(update_fields=["status"])
    return case
