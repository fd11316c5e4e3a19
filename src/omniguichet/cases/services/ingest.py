"""Event ingestion: the handlers other apps register, applying a batch of parsed events in sequence order in one
transaction (all or nothing), idempotent on the event id."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from omniguichet.cases.models import (
    Case,
    CaseEvent,
    CaseStatus,
    EventState,
    EventType,
    RequestedDocument,
)
from omniguichet.cases.services.common import CASE_MOTIVES, MAX_BATCH, PERSON_EVENTS, M
from omniguichet.cases.services.parsing import (
    IngestReport,
    ParsedEvent,
    RowResult,
    _parse_row,
    check_ingest_actor,
)
from omniguichet.cases.services.timeline import describe_event
from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import (
    bulk_insert_rows,
    reserve_ids,
    update_rows,
    values_subquery,
)
from omniguichet.core.errors import InvalidInput
from omniguichet.crm.models import Direction, SubjectKind
from omniguichet.referential.models import Person


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
