"""Ingesting event lines, computing each call from its events, writing its one Contact at hangup and the
call-back offer by SMS.

Ordering (docs/telephony.md): every valid event is stored once per (call_id, event); a call's events are applied
in the order of the sequence new -> ivr -> queued -> answer -> hangup, whatever order they arrive in, and none
before the call's `new` (until then they are *held*); `hangup` ends the call with what has been applied by then.
An event arriving for a call whose hangup was already applied is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.db import bulk_insert_rows, values_subquery
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.crm.models import Direction, Outcome
from omniguichet.referential.models import NATIONAL_ROLES, ContactPoint, Person, User
from omniguichet.telephony.models import Call, CallDirection, CallEvent, CallStatus, EventKind
from omniguichet.telephony.services.common import (
    CALLBACK_OFFER_AFTER,
    DEFAULT_MOTIVE,
    MAX_BATCH,
    RANK,
    SOURCE,
    active_motives,
    motive_for,
)
from omniguichet.telephony.services.parsing import InvalidLine, LineResult, ParsedEvent, parse_event
from omniguichet.telephony.services.retention import retained_from


@dataclass
class IngestReport:
    results: list[LineResult]
    released: int = 0  # events held by an earlier batch and applied by this one
    ended: int = 0  # calls ended (one Contact each when the caller is identified)
    callbacks_offered: int = 0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def check_ingest_actor(actor: Actor) -> None:
    """The phone platform sends events with a national service login (or as the system itself)."""
    if actor.kind == ActorKind.SYSTEM:
        return
    user = actor.user
    if user is None or not (user.is_superuser or user.role in NATIONAL_ROLES):
        raise Forbidden(_("telephony events come from the phone platform (a national service login)"))


def _agents(logins: set[str]) -> dict[str, User]:
    if not logins:
        return {}
    users = User.objects.filter(username__in=values_subquery(logins, of="text"), is_active=True)
    return {u.username: u for u in users if u.role or u.is_superuser}


def _verified_callers(numbers: Iterable[str]) -> dict[str, int]:
    """E.164 number -> the person whose verified mobile it is (an unverified point identifies nobody)."""
    wanted = {n for n in numbers if n}
    if not wanted:
        return {}
    return dict(
        ContactPoint.objects.filter(kind="mobile", verified=True, value__in=values_subquery(wanted, of="text"))
        .values_list("value", "person_id")
    )  # fmt: skip


def ingest_events(*, actor: Actor, channel: Channel, rows: list[Any], source: str = SOURCE) -> IngestReport:
    """Store a batch of event lines and apply what fits: one result per line (stored, duplicate, held, error).

    A line in error writes nothing; the others are written together, with the calls they end (their Contacts and
    call-back offers), in one transaction. Replaying a batch finds every line already stored and changes nothing.
    """
    check_ingest_actor(actor)
    if len(rows) > MAX_BATCH:
        raise InvalidInput.from_fields({"body": _("at most %(n)d lines a batch") % {"n": MAX_BATCH}})
    now = timezone.now()
    # The months before this one have left the database (retention): their lines are refused, even replayed.
    first_day = retained_from(now=now)
    results: list[LineResult] = []
    parsed: list[tuple[LineResult, ParsedEvent]] = []
    for line, row in enumerate(rows, start=1):
        if isinstance(row, InvalidLine):
            results.append(LineResult(line, "error", fields={"line": row.reason}))
            continue
        event, fields = parse_event(row, now=now)
        if event is not None and first_day is not None and event.at.astimezone(dt.UTC).date() < first_day:
            fields["at"] = _(
                "is before %(month)s: the calls of that period have left the database (retention)"
            ) % {"month": f"{first_day:%m/%Y}"}
            event = None
        result = LineResult(line, "error" if fields else "stored", fields=fields)
        if isinstance(row, dict):
            result.call_id = row.get("call_id") if isinstance(row.get("call_id"), str) else None
            result.event = row.get("event") if isinstance(row.get("event"), str) else None
        results.append(result)
        if event is not None:
            parsed.append((result, event))
    agents = _agents({e.agent_login for _r, e in parsed if e.agent_login})
    with transaction.atomic():
        report = _store_and_apply(parsed, agents=agents, source=source, now=now)
    report.results = results
    return report


def _store_and_apply(
    parsed: list[tuple[LineResult, ParsedEvent]], *, agents: dict[str, User], source: str, now: dt.datetime
) -> IngestReport:
    call_ids = {e.call_id for _r, e in parsed}
    stored = set(
        CallEvent.objects.filter(call_id__in=values_subquery(call_ids, of="text")).values_list("call_id", "event")
    ) if call_ids else set()  # fmt: skip
    calls = {c.call_id: c for c in Call.objects.filter(call_id__in=values_subquery(call_ids, of="text"))} if (
        call_ids
    ) else {}  # fmt: skip
    fresh: dict[tuple[str, str], tuple[LineResult, CallEvent]] = {}
    for result, event in parsed:
        key = (event.call_id, event.event)
        if key in stored or key in fresh:
            result.status = "duplicate"
            continue
        if event.agent_login and event.agent_login not in agents:
            result.status = "error"
            result.fields["agent"] = _("no agent has the login %(login)s") % {"login": event.agent_login}
            continue
        call = calls.get(event.call_id)
        if call is not None and call.status == CallStatus.ENDED:
            result.status = "error"
            result.fields["event"] = _("the call %(id)s has already ended (its hangup was applied)") % {
                "id": event.call_id
            }
            continue
        agent = agents.get(event.agent_login)
        fresh[key] = (result, CallEvent(
            call_id=event.call_id, event=event.event, at=event.at, from_number=event.from_number,
            to_number=event.to_number, direction=event.direction, ivr_choice=event.ivr_choice,
            agent_id=agent.pk if agent else None, source=source[:64],
        ))  # fmt: skip
    report = IngestReport(results=[])
    if not fresh:
        return report
    touched = {call_id for call_id, _event in fresh}
    # Every event of the touched calls not applied yet: those held by earlier batches, and this batch's.
    held_before = list(
        CallEvent.objects.filter(call_id__in=values_subquery(touched, of="text"), applied=False)
    )
    pending: dict[str, list[CallEvent]] = {}
    for waiting in [*held_before, *(e for _r, e in fresh.values())]:
        pending.setdefault(waiting.call_id, []).append(waiting)
    to_create: list[Call] = []
    to_update: list[Call] = []
    ended: list[Call] = []
    persons_by_number = _verified_callers(
        _party(e) for events in pending.values() for e in events if e.event == EventKind.NEW
    )
    motives = active_motives()
    for call_id, events in pending.items():
        events.sort(key=lambda e: RANK[e.event])
        call = calls.get(call_id)
        if call is None:
            if events[0].event != EventKind.NEW:
                continue  # held until the call's `new` arrives
            call = _open_call(events[0], persons_by_number)
            to_create.append(call)
        else:
            to_update.append(call)
        for stored_event in events:
            _apply(call, stored_event, motives)
            stored_event.applied = True
            if stored_event.event == EventKind.HANGUP:
                ended.append(call)
    for result, fresh_event in fresh.values():
        if not fresh_event.applied:
            result.status = "held"
    released = [e.pk for e in held_before if e.applied]
    report.released = len(released)
    report.ended = len(ended)
    adapt = connection.ops.adapt_datetimefield_value
    received = adapt(now)
    bulk_insert_rows(CallEvent, _EVENT_COLUMNS, [
        (e.call_id, e.event, adapt(e.at), e.from_number, e.to_number, e.direction, e.ivr_choice, e.agent_id,
         e.applied, e.source, received)
        for _r, e in fresh.values()
    ])  # fmt: skip
    report.callbacks_offered = _end_calls(ended, now=now)
    if to_create:
        bulk_insert_rows(Call, _CALL_COLUMNS, [
            (c.call_id, c.direction, c.from_number, c.to_number, c.person_id, c.status, adapt(c.started_at),
             c.ivr_choice, c.motive_id, adapt(c.queued_at), adapt(c.answered_at), adapt(c.ended_at), c.agent_id,
             c.waited_seconds, c.duration_seconds, None, c.contact_id, c.callback_offered, received)
            for c in to_create
        ])  # fmt: skip
    if to_update:
        for call in to_update:
            call.updated_at = now
        Call.objects.bulk_update(to_update, _CALL_FIELDS, batch_size=2000)
    if released:
        CallEvent.objects.filter(pk__in=values_subquery(released, of="bigint")).update(applied=True)
    return report


_EVENT_COLUMNS = [
    "call_id", "event", "at", "from_number", "to_number", "direction", "ivr_choice", "agent_id", "applied", "source",
    "received_at",
]  # fmt: skip
_CALL_COLUMNS = [
    "call_id", "direction", "from_number", "to_number", "person_id", "status", "started_at", "ivr_choice",
    "motive_id", "queued_at", "answered_at", "ended_at", "agent_id", "waited_seconds", "duration_seconds",
    "popped_at", "contact_id", "callback_offered", "updated_at",
]  # fmt: skip
_CALL_FIELDS = [
    "status", "ivr_choice", "motive", "queued_at", "answered_at", "ended_at", "agent", "waited_seconds",
    "duration_seconds", "contact", "callback_offered", "updated_at",
]  # fmt: skip


def _party(new: CallEvent) -> str:
    """The person's number: the caller of an inbound call, the one called by an outbound call."""
    return new.from_number if new.direction == CallDirection.INBOUND else new.to_number


def _open_call(new: CallEvent, persons_by_number: dict[str, int]) -> Call:
    return Call(
        call_id=new.call_id, direction=new.direction, from_number=new.from_number, to_number=new.to_number,
        person_id=persons_by_number.get(_party(new)), started_at=new.at, motive_id=DEFAULT_MOTIVE,
    )  # fmt: skip


def _seconds(later: dt.datetime | None, earlier: dt.datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return max(0, min(86_400, round((later - earlier).total_seconds())))


def _apply(call: Call, event: CallEvent, motives: frozenset[str]) -> None:
    kind = event.event
    if kind == EventKind.IVR:
        call.ivr_choice = event.ivr_choice
        call.motive_id = motive_for(event.ivr_choice, motives)
    elif kind == EventKind.QUEUED:
        call.queued_at = event.at
        call.status = CallStatus.QUEUED
    elif kind == EventKind.ANSWER:
        call.answered_at = event.at
        call.agent_id = event.agent_id
        call.status = CallStatus.ANSWERED
    elif kind == EventKind.HANGUP:
        call.ended_at = event.at
        call.status = CallStatus.ENDED
        if call.answered_at is not None:
            call.waited_seconds = _seconds(call.answered_at, call.queued_at)
            call.duration_seconds = _seconds(event.at, call.answered_at)
        else:
            call.waited_seconds = _seconds(event.at, call.queued_at)
            call.duration_seconds = 0


# The call-back offer goes by SMS only: a caller who does not allow SMS is offered nothing.
CALLBACK_POLICY = "sms"


def _end_calls(ended: list[Call], *, now: dt.datetime) -> int:
    """One Contact for each ended call whose caller is identified, written by the record's batch path
    (`crm.services.ingest_contacts`, source "telephony", external id the call's id: the record itself refuses a
    second one); then the call-back offers. Returns how many call-backs were offered."""
    from omniguichet.crm.services import ingest_contacts

    identified = [c for c in ended if c.person_id is not None and c.direction == CallDirection.INBOUND]
    if not identified:
        return 0
    rows = []
    for call in identified:
        answered = call.answered_at is not None
        note = _("Call %(id)s, %(d)d s with the agent.") % {
            "id": call.call_id,
            "d": call.duration_seconds or 0,
        }
        if call.ivr_choice:
            note += " " + _("Voice menu choice: %(c)s.") % {"c": call.ivr_choice}
        rows.append({
            "external_id": call.call_id, "person_id": call.person_id, "channel": Channel.PHONE.value,
            "direction": Direction.INBOUND.value, "motive": call.motive_id, "started_at": call.started_at.isoformat(),
            "outcome": (Outcome.RESOLVED if answered else Outcome.PENDING).value, "note": note, "answered": answered,
            "waited_seconds": call.waited_seconds,
        })  # fmt: skip
    results = ingest_contacts(actor=Actor.system(SOURCE), channel=Channel.PHONE, rows=rows, source=SOURCE)
    refused = {r.external_id or str(r.index): r.errors for r in results if r.status == "rejected"}
    if refused:  # the calls are checked already: a refusal here is a bug, and nothing of the batch is kept
        raise InvalidInput.from_fields({f"contact {key}": str(errors) for key, errors in refused.items()})
    for call, result in zip(identified, results, strict=True):
        call.contact_id = result.contact_id
    late = [c for c in identified if c.answered_at is None and (c.waited_seconds or 0) > CALLBACK_OFFER_AFTER]
    if not late:
        return 0
    persons = Person.objects.in_bulk([c.person_id for c in late])
    return _offer_callbacks([(c, persons[c.person_id]) for c in late], now=now)


def booking_url() -> str:
    """The page where the person books an appointment (a phone call-back among them), as a full link."""
    from omniguichet.appointments.services import public_url

    return public_url(reverse("appointments:mine"))


def _offer_callbacks(offers: list[tuple[Call, Person]], *, now: dt.datetime) -> int:
    """A call-back appointment offered by SMS to each of these callers who can receive one (a verified mobile, SMS
    allowed, no refusal of messages), written in the outbound ledger, which keeps the quiet hours and the cap;
    a replay writes nothing more (the key is the call's). Returns how many were offered."""
    if not offers:
        return 0
    from omniguichet.outreach.services import Planned, choose_channels, load_reach, write_ledger

    reach = load_reach(person for _call, person in offers)
    text = _(
        "Assurance Maladie: sorry, we could not answer your call. Book a call-back appointment: %(link)s"
    ) % {"link": booking_url()}
    subject = _("Your call to the Assurance Maladie")
    planned = []
    for call, person in offers:
        if not choose_channels(reach[person.pk], CALLBACK_POLICY):
            continue
        call.callback_offered = True
        planned.append(Planned(
            key=f"telephony:callback:{call.call_id}", person=person, subject=subject, body=text, sms_body=text,
            at=now, motive=call.motive_id, policy=CALLBACK_POLICY,
        ))  # fmt: skip
    write_ledger(planned, now=now)
    return len(planned)
