"""Telephony (CTI): ingesting the phone platform's event lines, computing each call from its events, writing its
one Contact at hangup (with the call-back offer by SMS), and the screen-pop of the answering agent's console.

Ordering (docs/telephony.md): every valid event is stored once per (call_id, event); a call's events are applied
in the order of the sequence new -> ivr -> queued -> answer -> hangup, whatever order they arrive in, and none
before the call's `new` (until then they are *held*); `hangup` ends the call with what has been applied by then.
An event arriving for a call whose hangup was already applied is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import values_subquery
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.core.text import MAX_BATCH_ROWS, check_text, ndjson_lines
from omniguichet.crm.models import Direction, Outcome
from omniguichet.referential.models import NATIONAL_ROLES, ContactPoint, Person, User
from omniguichet.telephony.models import Call, CallDirection, CallEvent, CallStatus, EventKind

MAX_BATCH = MAX_BATCH_ROWS
EARLIEST_EVENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# The order a call's events are applied in (each at most once per call).
SEQUENCE = [EventKind.NEW, EventKind.IVR, EventKind.QUEUED, EventKind.ANSWER, EventKind.HANGUP]
RANK = {kind.value: i for i, kind in enumerate(SEQUENCE)}
# A caller identified who hung up unanswered after more than this in the queue is offered a call-back by SMS.
CALLBACK_OFFER_AFTER = 30
# The screen-pop opens the record of a call answered at most this long ago (an agent logging in later is not
# thrown onto an old caller's record).
SCREEN_POP_WINDOW = dt.timedelta(minutes=10)
SOURCE = "telephony"

# The voice menu's choices and the contact motive each stands for (crm/data/motives.csv). A choice that is itself
# a motive code is taken as it is; any other choice, or none, is DEFAULT_MOTIVE.
IVR_MOTIVES: dict[str, str] = {
    "1": "remboursement",  # reimbursements of care
    "2": "ij_suivi",  # daily allowances (sick pay)
    "3": "carte_vitale",  # the carte Vitale
    "4": "attestation_droits",  # certificates
    "5": "css",  # complémentaire santé solidaire
    "6": "changement_adresse",  # change of address or bank details
    "7": "reclamation",  # complaints
    "8": "depot_piece",  # a document to send
}
DEFAULT_MOTIVE = "autre"


def active_motives() -> frozenset[str]:
    from omniguichet.crm.services import iter_motives

    return frozenset(m.code for m in iter_motives())


def motive_for(ivr_choice: str, motives: frozenset[str] | None = None) -> str:
    """The contact motive of a voice-menu choice (IVR_MOTIVES; a motive code stands for itself), among the active
    motives (DEFAULT_MOTIVE when the mapped one was retired)."""
    motives = active_motives() if motives is None else motives
    code = IVR_MOTIVES.get(ivr_choice, ivr_choice)
    return code if code in motives else DEFAULT_MOTIVE


# ---------------------------------------------------------------------------------------------------------------
# Parsing one event line


@dataclass
class LineResult:
    line: int
    status: str  # stored, duplicate, held, error
    call_id: str | None = None
    event: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        error = None
        if self.fields:
            message = "; ".join(f"{name}: {reason}" for name, reason in self.fields.items())
            error = {"code": "invalid", "message": message, "fields": self.fields}
        return {"line": self.line, "call_id": self.call_id, "event": self.event, "status": self.status,
                "error": error}  # fmt: skip


@dataclass
class ParsedEvent:
    call_id: str
    event: str
    at: dt.datetime
    from_number: str
    to_number: str
    direction: str
    ivr_choice: str
    agent_login: str


@functools.lru_cache(maxsize=65_536)
def normalise_number(value: str) -> str:
    """A phone number in E.164 (French numbers may be written nationally), or "" when it is none (withheld,
    malformed): such a caller is simply not identified."""
    from django.core.exceptions import ValidationError

    from omniguichet.referential.validators import validate_phone_number

    try:
        return validate_phone_number(value)
    except ValidationError:
        return ""


def _text(fields: dict[str, str], name: str, value: Any, max_length: int, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            fields[name] = _("is required")
        return ""
    text = check_text(fields, name, value, max_length)
    if text is not None and required and not text.strip():
        fields[name] = _("is required")
    return (text or "").strip()


def _time(fields: dict[str, str], value: Any, now: dt.datetime) -> dt.datetime | None:
    if value is None or value == "":
        fields["at"] = _("is required")
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:  # well-formed but impossible, e.g. a 13th month
        parsed = None
    if parsed is None:
        fields["at"] = _("is not an ISO 8601 date and time")
    elif timezone.is_naive(parsed):
        fields["at"] = _("needs a time zone offset (ISO 8601, e.g. 2026-03-01T09:30:00+01:00)")
    elif parsed < EARLIEST_EVENT:
        fields["at"] = _("is before 2000")
    elif parsed > now + FUTURE_TOLERANCE:
        fields["at"] = _("is in the future")
    else:
        return parsed
    return None


def parse_event(row: Any, *, now: dt.datetime | None = None) -> tuple[ParsedEvent | None, dict[str, str]]:
    """One event line checked: the parsed event, or None and the reasons by field. Never raises."""
    now = now or timezone.now()
    fields: dict[str, str] = {}
    if not isinstance(row, dict):
        return None, {"line": _("must be a JSON object")}
    call_id = _text(fields, "call_id", row.get("call_id"), 64, required=True)
    event = row.get("event")
    if not isinstance(event, str) or event not in RANK:
        fields["event"] = _("unknown event (one of %(all)s)") % {"all": ", ".join(RANK)}
        event = ""
    at = _time(fields, row.get("at"), now)
    direction = row.get("direction", CallDirection.INBOUND)
    if direction not in CallDirection.values:
        fields["direction"] = _("must be inbound or outbound")
    raw_from = _text(fields, "from", row.get("from"), 40, required=False)
    raw_to = _text(fields, "to", row.get("to"), 40, required=False)
    ivr_choice = _text(fields, "ivr_choice", row.get("ivr_choice"), 16, required=event == EventKind.IVR)
    agent_login = _text(fields, "agent", row.get("agent"), 150, required=event == EventKind.ANSWER)
    if fields:
        return None, fields
    assert at is not None
    parsed = ParsedEvent(
        call_id=call_id, event=event, at=at, from_number=normalise_number(raw_from) if raw_from else "",
        to_number=normalise_number(raw_to) if raw_to else "", direction=direction, ivr_choice=ivr_choice,
        agent_login=agent_login if event == EventKind.ANSWER else "",
    )  # fmt: skip
    return parsed, {}


def parse_lines(body: bytes, content_type: str) -> list[Any]:
    """The rows of a batch: NDJSON (one object per line; a line that is not JSON becomes an error of that line
    only) or a JSON array. A row that could not be read is an `InvalidLine`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.from_fields({"body": _("is not UTF-8 text")}) from None
    if "ndjson" in content_type or "jsonlines" in content_type:
        rows: list[Any] = []
        for line in ndjson_lines(text):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                rows.append(InvalidLine(_("is not valid JSON: %(e)s") % {"e": exc}))
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput.from_fields({"body": _("is not valid JSON: %(e)s") % {"e": exc}}) from None
    if not isinstance(data, list):
        raise InvalidInput.from_fields({"body": _("must be a JSON array of call events, or NDJSON")})
    return data


@dataclass(frozen=True)
class InvalidLine:
    reason: str


# ---------------------------------------------------------------------------------------------------------------
# Ingestion


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
    results: list[LineResult] = []
    parsed: list[tuple[LineResult, ParsedEvent]] = []
    for line, row in enumerate(rows, start=1):
        if isinstance(row, InvalidLine):
            results.append(LineResult(line, "error", fields={"line": row.reason}))
            continue
        event, fields = parse_event(row, now=now)
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
    CallEvent.objects.bulk_create([e for _r, e in fresh.values()], batch_size=2000)
    touched = {call_id for call_id, _event in fresh}
    # Every event of the touched calls not applied yet: this batch's and those held by earlier ones.
    pending: dict[str, list[CallEvent]] = {}
    for held in CallEvent.objects.filter(call_id__in=values_subquery(touched, of="text"), applied=False):
        pending.setdefault(held.call_id, []).append(held)
    applied_ids: list[int] = []
    to_create: list[Call] = []
    to_update: list[Call] = []
    ended: list[Call] = []
    applied_keys: set[tuple[str, str]] = set()
    persons_by_number = _verified_callers(
        e.from_number for events in pending.values() for e in events if e.event == EventKind.NEW
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
            applied_ids.append(stored_event.pk)
            applied_keys.add((call_id, stored_event.event))
            if stored_event.event == EventKind.HANGUP:
                ended.append(call)
    for result, fresh_event in fresh.values():
        if (fresh_event.call_id, fresh_event.event) not in applied_keys:
            result.status = "held"
    report.released = len(applied_ids) - sum(1 for key in applied_keys if key in fresh)
    report.ended = len(ended)
    report.callbacks_offered = _end_calls(ended, now=now)
    if to_create:
        Call.objects.bulk_create(to_create, batch_size=2000)
    if to_update:
        for call in to_update:
            call.updated_at = now
        Call.objects.bulk_update(to_update, _CALL_FIELDS, batch_size=2000)
    if applied_ids:
        CallEvent.objects.filter(pk__in=values_subquery(applied_ids, of="bigint")).update(applied=True)
    return report


_CALL_FIELDS = [
    "status", "ivr_choice", "motive", "queued_at", "answered_at", "ended_at", "agent", "waited_seconds",
    "duration_seconds", "contact", "callback_offered", "updated_at",
]  # fmt: skip


def _open_call(new: CallEvent, persons_by_number: dict[str, int]) -> Call:
    return Call(
        call_id=new.call_id, direction=new.direction, from_number=new.from_number, to_number=new.to_number,
        person_id=persons_by_number.get(new.from_number), started_at=new.at, motive_id=DEFAULT_MOTIVE,
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


def _end_calls(ended: list[Call], *, now: dt.datetime) -> int:
    """One Contact for each ended call whose caller is identified; the call-back offers. Returns the offers."""
    from omniguichet.crm.services import record_contact

    identified = [c for c in ended if c.person_id is not None and c.direction == CallDirection.INBOUND]
    if not identified:
        return 0
    persons = Person.objects.in_bulk([c.person_id for c in identified])
    agents = User.objects.in_bulk([c.agent_id for c in identified if c.agent_id])
    offers = 0
    for call in identified:
        person = persons[call.person_id]
        agent = agents.get(call.agent_id) if call.agent_id else None
        # The agent who answered, when the call was for their caisse (their contact); otherwise the platform.
        if agent is not None and (
            agent.is_national or agent.is_superuser or agent.caisse_id == person.caisse_id
        ):
            actor = Actor.agent(agent)
        else:
            actor = Actor.system(SOURCE)
        answered = call.answered_at is not None
        note = _("Call %(id)s, %(d)d s with the agent.") % {
            "id": call.call_id,
            "d": call.duration_seconds or 0,
        }
        if call.ivr_choice:
            note += " " + _("Voice menu choice: %(c)s.") % {"c": call.ivr_choice}
        call.contact = record_contact(
            actor=actor, channel=Channel.PHONE, person=person, motive=call.motive_id, direction=Direction.INBOUND,
            started_at=call.started_at, outcome=Outcome.RESOLVED if answered else Outcome.PENDING, note=note,
            answered=answered, waited_seconds=call.waited_seconds,
        )  # fmt: skip
        if not answered and (call.waited_seconds or 0) > CALLBACK_OFFER_AFTER:
            call.callback_offered = _offer_callback(call, person)
            offers += call.callback_offered
    return offers


def booking_url() -> str:
    """The page where the person books an appointment (a phone call-back among them), as a full link."""
    from omniguichet.appointments.services import public_url

    return public_url(reverse("appointments:mine"))


def _offer_callback(call: Call, person: Person) -> bool:
    """A call-back appointment offered by SMS, through the outbound ledger (which keeps the quiet hours, the cap
    and the person's consent); nothing when the person does not allow SMS. True when an SMS was planned."""
    from omniguichet.outreach.services import send_to_person

    text = _(
        "Assurance Maladie: sorry, we could not answer your call. Book a call-back appointment: %(link)s"
    ) % {"link": booking_url()}
    literal = text.replace("{", "{{").replace("}", "}}")
    messages = send_to_person(
        actor=Actor.system(SOURCE), person=person, idempotency_key=f"telephony:callback:{call.call_id}",
        subject=_("Your call to the Assurance Maladie"), body=literal, sms_body=literal, channel_policy="sms",
        motive=call.motive_id,
    )  # fmt: skip
    return bool(messages)


# ---------------------------------------------------------------------------------------------------------------
# The screen-pop


@dataclass
class ScreenPop:
    call_id: str
    person_id: int | None  # None: the caller is not identified (or not visible to this agent)
    motive: str
    masked_number: str


def mask_number(number: str) -> str:
    """A caller's number as written nationally, its last two digits hidden: "06 12 34 56 ••"."""
    if not number:
        return _("withheld number")
    import phonenumbers

    try:
        shown = phonenumbers.format_number(
            phonenumbers.parse(number, "FR"), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        shown = number
    return shown[:-2] + "••" if len(shown) > 2 else "••"


def next_screen_pop(*, actor: Actor) -> ScreenPop | None:
    """The call this agent has just answered, once: its record to open (the person when identified and visible to
    the agent), or what the agent may see of an unknown caller. None when there is nothing new."""
    if actor.kind != ActorKind.AGENT or actor.user is None:
        return None
    since = timezone.now() - SCREEN_POP_WINDOW
    call = (
        Call.objects.filter(agent=actor.user, popped_at__isnull=True, answered_at__gte=since)
        .order_by("-answered_at")
        .only("pk", "call_id", "person_id", "motive_id", "from_number")
        .first()
    )
    if call is None:
        return None
    # Once: a second poll (or a second tab) racing for the same call gets nothing.
    if not Call.objects.filter(pk=call.pk, popped_at__isnull=True).update(popped_at=timezone.now()):
        return None
    person_id = call.person_id
    if person_id is not None and not scope_to_caisse(Person.objects.filter(pk=person_id), actor).exists():
        person_id = None  # another caisse's person is reported like an unknown caller
    return ScreenPop(call.call_id, person_id, call.motive_id, mask_number(call.from_number))


def record_url(pop: ScreenPop) -> str:
    """The customer record of the caller, opened for an incoming call (the purpose audited), with the motive."""
    from omniguichet.crm.purposes import PURPOSES

    query = urlencode({"purpose": str(PURPOSES[0]), "motive": pop.motive})
    return f"{reverse('crm:record', args=[pop.person_id])}?{query}"


def calls_of_agent(*, actor: Actor, limit: int = 10) -> list[Call]:
    """The agent's latest answered calls (the telephony page lists them)."""
    if actor.user is None:
        return []
    return list(
        Call.objects.filter(Q(agent=actor.user)).select_related("motive").order_by("-answered_at")[:limit]
    )
