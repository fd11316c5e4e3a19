"""The customer record: recording contacts (the one place they are written), ingestion from other systems,
search, the record itself, its timeline, and the audit of every opening."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from omniguichet.core.actors import CONTACT_CHANNEL_VALUES, Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import PreparedQuery, bulk_insert_rows, insert_row, reserve_ids, values_subquery
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound, collect
from omniguichet.core.text import check_text, fold, parse_batch_rows
from omniguichet.crm.models import Contact, Direction, Motive, Outcome, RecordAccess, SubjectKind
from omniguichet.referential import validators
from omniguichet.referential.models import ChannelPreference, Consent, ContactPoint, Person

MAX_BATCH = 10_000
INGEST_COLUMNS = [
    "person_id", "caisse_id", "channel", "direction", "motive_id", "started_at", "actor_kind", "agent_id", "outcome",
    "note", "answered", "responded_at", "on_appointment", "waited_seconds", "source", "external_id", "created_at",
    "subject_kind", "subject_ref",
]  # fmt: skip
# Clocks of partner systems drift a little; a contact "in the future" beyond this is refused.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
TIMELINE_PAGE = 20
MAX_TIMELINE_PAGE = 100


# Sets built once: TextChoices.values builds a new list on every access, and ingestion checks 10,000 rows.
_CHANNELS = frozenset(CONTACT_CHANNEL_VALUES)
_DIRECTIONS = frozenset(Direction.values)
_OUTCOMES = frozenset(Outcome.values)


# --- recording ---------------------------------------------------------------------------------------------
def _motives() -> dict[str, Motive]:
    return {m.code: m for m in Motive.objects.filter(active=True)}


def _check_contact_fields(
    fields: dict[str, str],
    *,
    channel: str,
    direction: str,
    motive: str,
    started_at: dt.datetime | None,
    outcome: str,
    waited_seconds: int | None,
    responded_at: dt.datetime | None,
    motives: Mapping[str, Motive],
    now: dt.datetime,
) -> None:
    if channel not in _CHANNELS:
        fields["channel"] = _("unknown channel %(c)s (one of %(all)s)") % {
            "c": channel,
            "all": ", ".join(CONTACT_CHANNEL_VALUES),
        }
    if direction not in _DIRECTIONS:
        fields["direction"] = _("must be inbound or outbound")
    if motive not in motives:
        fields["motive"] = _("unknown motive %(m)s") % {"m": motive}
    if outcome not in _OUTCOMES:
        fields["outcome"] = _("must be one of %(all)s") % {"all": ", ".join(Outcome.values)}
    if started_at is not None:
        if timezone.is_naive(started_at):
            fields["started_at"] = _("needs a time zone offset (ISO 8601, e.g. 2026-03-01T09:30:00+01:00)")
        elif started_at > now + FUTURE_TOLERANCE:
            fields["started_at"] = _("is in the future")
    if waited_seconds is not None and not (0 <= waited_seconds <= 86_400):
        fields["waited_seconds"] = _("must be between 0 and 86400")
    if responded_at is not None:
        if timezone.is_naive(responded_at):
            fields["responded_at"] = _("needs a time zone offset")
        elif started_at is not None and timezone.is_aware(started_at) and responded_at < started_at:
            fields["responded_at"] = _("cannot be before started_at")


_SUBJECT_KINDS = frozenset(SubjectKind.values)


def _check_subject(fields: dict[str, str], kind: Any, ref: Any) -> tuple[str, str]:
    """What a contact concerns: both empty, or a known kind with the object's id (at most 64 characters)."""
    kind = "" if kind is None else kind
    ref = "" if ref is None else ref
    if not isinstance(kind, str) or (kind and kind not in _SUBJECT_KINDS):
        fields["subject_kind"] = _("must be one of %(all)s") % {"all": ", ".join(SubjectKind.values)}
        return "", ""
    if isinstance(ref, bool) or not isinstance(ref, str | int):
        fields["subject_ref"] = _("must be a text or a number")
        return "", ""
    ref = str(ref).strip()
    if bool(kind) != bool(ref):
        fields["subject_ref"] = _("subject_kind and subject_ref go together")
    elif len(ref) > 64 or "\x00" in ref:
        fields["subject_ref"] = _("at most 64 characters, no NUL")
    return kind, ref


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {"actor_kind": actor.kind, "agent": actor.user if actor.kind == ActorKind.AGENT else None}


def _handling_caisse(actor: Actor, person: Person) -> str:
    """The caisse that handled the contact: the agent's own, otherwise the person's."""
    if actor.kind == ActorKind.AGENT and actor.caisse_code:
        return actor.caisse_code
    return person.caisse_id


def record_contact(
    *,
    actor: Actor,
    channel: str,
    person: Person,
    motive: str,
    direction: str = Direction.INBOUND,
    started_at: dt.datetime | None = None,
    outcome: str = Outcome.RESOLVED,
    note: str = "",
    answered: bool | None = None,
    responded_at: dt.datetime | None = None,
    on_appointment: bool | None = None,
    waited_seconds: int | None = None,
    subject_kind: str = "",
    subject_ref: str | int = "",
) -> Contact:
    """Record one contact in the person's record. Every module calls this; contacts are written nowhere else.

    `subject_kind` + `subject_ref` link the contact to what it concerns (a case, document, appointment, message,
    online-service request, reception ticket or letter: `SubjectKind`), as that app's id.
    """
    now = timezone.now()
    fields: dict[str, str] = {}
    _check_contact_fields(
        fields, channel=channel, direction=direction, motive=motive, started_at=started_at, outcome=outcome,
        waited_seconds=waited_seconds, responded_at=responded_at, motives=_motives(), now=now,
    )  # fmt: skip
    subject_kind, subject_ref = _check_subject(fields, subject_kind, subject_ref)
    if fields:
        raise InvalidInput.from_fields(fields)
    if (
        actor.kind == ActorKind.AGENT
        and not scope_to_caisse(Person.objects.filter(pk=person.pk), actor).exists()
    ):
        raise NotFound(_("no such person"))
    return Contact.objects.create(
        person=person,
        caisse_id=_handling_caisse(actor, person),
        channel=channel,
        direction=direction,
        motive_id=motive,
        started_at=started_at or now,
        outcome=outcome,
        note=note.strip(),
        answered=answered,
        responded_at=responded_at,
        on_appointment=on_appointment,
        waited_seconds=waited_seconds,
        subject_kind=subject_kind,
        subject_ref=subject_ref,
        **_actor_fields(actor),
    )


# --- ingestion ---------------------------------------------------------------------------------------------
@dataclass
class RowResult:
    index: int
    external_id: str | None
    status: str  # created, duplicate, rejected
    contact_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


# Contacts older than this are not history we keep; it also keeps far-away years out of time-zone arithmetic.
EARLIEST_CONTACT = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
MAX_ID = 2**63 - 1


def _parse_time(fields: dict[str, str], name: str, value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. a 13th month
        parsed = None
    if parsed is None:
        fields[name] = _("is not an ISO 8601 date and time")
    elif timezone.is_aware(parsed) and parsed < EARLIEST_CONTACT:
        fields[name] = _("is before 1990")
        parsed = None
    return parsed


def _optional_bool(fields: dict[str, str], name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    fields[name] = _("must be true, false or null")
    return None


def ingest_contacts(
    *, actor: Actor, channel: Channel, rows: list[Any], source: str, _retried: bool = False
) -> list[RowResult]:
    """Record contacts sent by another system (telephony, legacy tools). Each row is created, a duplicate (its
    external_id was already received from this source: replaying a batch changes nothing) or rejected with
    its reasons. Valid rows are written together; a rejected row writes nothing."""
    if len(rows) > MAX_BATCH:
        raise InvalidInput.from_fields(
            {"body": _("at most %(max)d contacts per batch, got %(n)d") % {"max": MAX_BATCH, "n": len(rows)}}
        )
    now = timezone.now()
    motives = _motives()
    results: list[RowResult] = []
    parsed: list[tuple[RowResult, dict[str, Any]]] = []
    person_ids: set[int] = set()
    nirs: set[str] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            results.append(RowResult(index, None, "rejected", errors={"row": _("must be a JSON object")}))
            continue
        fields: dict[str, str] = {}
        external_id = check_text(fields, "external_id", row.get("external_id"), 128)
        if external_id is not None and not external_id.strip():
            fields["external_id"] = _("is required")
            external_id = None
        started_at = _parse_time(fields, "started_at", row.get("started_at"))
        if row.get("started_at") in (None, ""):
            fields["started_at"] = _("is required")
        responded_at = _parse_time(fields, "responded_at", row.get("responded_at"))
        waited = row.get("waited_seconds")
        if waited is not None and (not isinstance(waited, int) or isinstance(waited, bool)):
            fields["waited_seconds"] = _("must be a whole number of seconds")
            waited = None
        _check_contact_fields(
            fields, channel=str(row.get("channel", "")), direction=str(row.get("direction", "")),
            motive=str(row.get("motive", "")), started_at=started_at, outcome=str(row.get("outcome", "resolved")),
            waited_seconds=waited, responded_at=responded_at, motives=motives, now=now,
        )  # fmt: skip
        person_id, nir = row.get("person_id"), row.get("nir")
        if person_id is not None:
            if isinstance(person_id, int) and not isinstance(person_id, bool) and 0 < person_id <= MAX_ID:
                person_ids.add(person_id)
            else:
                fields["person_id"] = _("must be a positive integer")
        elif nir is not None:
            nir = collect(fields, "nir", validators.validate_nir, str(nir))
            if nir:
                nirs.add(nir)
        else:
            fields["person_id"] = _("person_id or nir is required")
        note = check_text(fields, "note", row.get("note", ""), 4000)
        answered = _optional_bool(fields, "answered", row.get("answered"))
        on_appointment = _optional_bool(fields, "on_appointment", row.get("on_appointment"))
        subject_kind, subject_ref = _check_subject(fields, row.get("subject_kind"), row.get("subject_ref"))
        result = RowResult(index, external_id, "rejected" if fields else "pending", errors=fields)
        results.append(result)
        if not fields:
            parsed.append((result, {
                "person_id": person_id, "nir": nir, "channel": row["channel"], "direction": row["direction"],
                "motive_id": row["motive"], "started_at": started_at, "outcome": row.get("outcome", "resolved"),
                "note": note, "answered": answered, "responded_at": responded_at, "waited_seconds": waited,
                "on_appointment": on_appointment, "subject_kind": subject_kind, "subject_ref": subject_ref,
            }))  # fmt: skip

    visible = scope_to_caisse(Person.objects.all(), actor)
    by_id = {
        pk: (pk, c)
        for pk, c in visible.filter(pk__in=values_subquery(person_ids, of="bigint")).values_list(
            "pk", "caisse_id"
        )
    }
    by_nir = {
        n: (pk, c)
        for n, pk, c in visible.filter(nir__in=values_subquery(nirs, of="text")).values_list(
            "nir", "pk", "caisse_id"
        )
    }
    candidates = [r.external_id for r, _v in parsed if not r.errors and r.external_id is not None]
    already = dict(
        Contact.objects.filter(
            source=source, external_id__in=values_subquery(candidates, of="text")
        ).values_list("external_id", "pk")
    )
    now_db = connection.ops.adapt_datetimefield_value(now)
    adapt = connection.ops.adapt_datetimefield_value
    to_create: list[tuple] = []
    seen: dict[str, RowResult] = {}
    for result, values in parsed:
        if values["person_id"] is not None:
            found = by_id.get(values["person_id"])
            missing_field = "person_id"
        else:
            found = by_nir.get(values["nir"])
            missing_field = "nir"
        if found is None:
            result.status, result.errors = "rejected", {missing_field: _("unknown person")}
            continue
        assert result.external_id is not None
        if result.external_id in already:
            result.status, result.contact_id = "duplicate", already[result.external_id]
            continue
        if result.external_id in seen:  # twice in the same batch: the first one counts
            result.status = "duplicate"
            continue
        seen[result.external_id] = result
        person_pk, person_caisse = found
        caisse = actor.caisse_code if actor.kind == ActorKind.AGENT and actor.caisse_code else person_caisse
        to_create.append((
            person_pk, caisse, values["channel"], values["direction"], values["motive_id"],
            adapt(values["started_at"]), ActorKind.SYSTEM, None, values["outcome"], values["note"],
            values["answered"], adapt(values["responded_at"]), values["on_appointment"], values["waited_seconds"],
            source, result.external_id, now_db, values["subject_kind"], values["subject_ref"],
        ))  # fmt: skip
    try:
        with transaction.atomic():
            ids = _reserve_contact_ids(len(to_create))
            # Raw bulk insert (COPY on PostgreSQL): the fields were all checked above.
            if ids is None:
                bulk_insert_rows(Contact, INGEST_COLUMNS, to_create)
            else:
                bulk_insert_rows(
                    Contact, ["id", *INGEST_COLUMNS], ((i, *r) for i, r in zip(ids, to_create, strict=True))
                )
    except IntegrityError:
        if _retried:
            raise
        # Another request stored some of the same external ids meanwhile: replay what is left, once.
        return ingest_contacts(actor=actor, channel=channel, rows=rows, source=source, _retried=True)
    if ids is not None:
        for result, pk in zip(seen.values(), ids, strict=True):
            result.status, result.contact_id = "created", pk
    elif seen:
        created = Contact.objects.filter(
            source=source, external_id__in=values_subquery(seen, of="text")
        ).values_list("external_id", "pk")
        for external_id, pk in created:
            if external_id is not None:
                seen[external_id].status, seen[external_id].contact_id = "created", pk
    return results


def _reserve_contact_ids(count: int) -> list[int] | None:
    """Contact ids for a COPY, drawn inside the writing transaction AFTER it took its transaction id (PostgreSQL):
    an id is then never held by a transaction that a snapshot taken meanwhile does not list as running, which
    the warehouse export relies on not to skip a contact committed late (docs/analytics.md)."""
    if connection.vendor == "postgresql" and count:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
    return reserve_ids(Contact, count)


# --- search ------------------------------------------------------------------------------------------------
# The hot reads are prepared (compiled to SQL once, see core.db.PreparedQuery): their shape is the caisse scope
# ("all", "caisse" or "none"), the kind of lookup and the page size; everything else is a parameter.
def _caisse_scope(actor: Actor) -> tuple[str, dict[str, str]]:
    if actor.sees_all_caisses:
        return "all", {}
    if actor.kind == ActorKind.AGENT and actor.caisse_code:
        return "caisse", {"caisse": actor.caisse_code}
    return "none", {}


def _scoped(queryset: QuerySet, scope: str, caisse: str | None) -> QuerySet:
    return queryset.filter(caisse_id=caisse) if scope == "caisse" else queryset


def _search_query(
    scope: str, how: str, limit: int, *, value: str, birth_date: dt.date | None = None,
    caisse: str | None = None,
) -> QuerySet[Person]:  # fmt: skip
    persons = _scoped(Person.objects.select_related("caisse"), scope, caisse)
    if how in ("email", "mobile"):
        points = ContactPoint.objects.filter(kind=how, value=value)
        return persons.filter(pk__in=points.values("person_id"))[:limit]
    if how == "nir":
        return persons.filter(nir=value)[:limit]
    if how == "nir_start":
        return persons.filter(birth_date=birth_date, nir__startswith=value).order_by("nir")[:limit]
    matches = persons.filter(
        Q(family_name_folded__startswith=value, birth_date=birth_date)
        | Q(usage_name_folded__startswith=value, birth_date=birth_date)
    )
    return matches.order_by("family_name_folded", "given_names")[:limit]


_SEARCH = PreparedQuery(_search_query)


DATE_RE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")
SEARCH_LIMIT = 20


def _extract_date(text: str) -> tuple[dt.date | None, str]:
    match = DATE_RE.search(text)
    if not match:
        return None, text
    try:
        if match.group(1):
            date = dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        else:
            date = dt.date(int(match.group(4)), int(match.group(5)), int(match.group(6)))
    except ValueError:
        return None, text
    return date, (text[: match.start()] + text[match.end() :]).strip()


def search_persons(*, actor: Actor, channel: Channel, q: str, limit: int = SEARCH_LIMIT) -> list[Person]:
    """Find persons by NIR (full, or its beginning with the birth date), family or usage name with the birth
    date, phone or e-mail; tolerant of accents, case and spaces. Only persons the actor may see."""
    fields: dict[str, str] = {}
    q = " ".join((check_text(fields, "q", q, 200) or "").split())
    if fields:
        raise InvalidInput.from_fields(fields)
    if len(q) < 2:
        raise InvalidInput.from_fields({"q": _("type at least 2 characters")})
    limit = max(1, min(limit, 50))
    scope, scope_params = _caisse_scope(actor)
    compact = q.replace(" ", "").upper()
    how, value, birth_date = _search_kind(q, compact)
    if scope == "none":
        return []
    if birth_date is None:
        return _SEARCH(scope, how, limit, value=value, **scope_params)
    return _SEARCH(scope, how, limit, value=value, birth_date=birth_date, **scope_params)


def _search_kind(q: str, compact: str) -> tuple[str, str, dt.date | None]:
    """What the agent typed: (lookup, value, birth date)."""
    if "@" in q:
        return "email", q.lower(), None
    try:
        phone: str | None = validators.validate_mobile_phone(q)
    except ValidationError:
        phone = None
    if phone and not (len(compact) >= 13 and compact[:1] in "12378" and len(compact) != 10):
        return "mobile", phone, None
    if len(compact) == 15 and re.fullmatch(r"[0-9]{6}[0-9AB][0-9]{8}", compact):
        return "nir", compact, None
    birth_date, rest = _extract_date(q)
    rest_compact = rest.replace(" ", "").upper()
    if birth_date and re.fullmatch(r"[0-9]{5,15}|[0-9]{5}[0-9AB][0-9]{0,8}", rest_compact or "-"):
        # The beginning of a NIR with the birth date narrows it to a handful of persons.
        return "nir_start", rest_compact, birth_date
    name = fold(rest)
    if not name or not birth_date:
        raise InvalidInput.from_fields(
            {"q": _("give a NIR, a phone, an e-mail, or a name with a birth date (e.g. Dupont 12/03/1984)")}
        )
    return "name", name, birth_date


# --- the record --------------------------------------------------------------------------------------------
@dataclass
class TimelinePage:
    contacts: list[Contact]
    next_cursor: str | None


@dataclass
class CustomerRecord:
    person: Person
    contact_points: list[ContactPoint]
    consents: list[Any]
    preference: ChannelPreference | None
    # The person's online account (accounts.Account, one-to-one), joined in the record's one query by the
    # relation's name: crm sits below accounts and never imports it.
    account: Any
    beneficiaries: list[Person]
    timeline: TimelinePage
    # Filled in by the apps that own them (cases, appointments, documents) through `register_record_section`.
    open_cases: list[RecordItem] = field(default_factory=list)
    next_appointments: list[RecordItem] = field(default_factory=list)
    recent_documents: list[RecordItem] = field(default_factory=list)


# --- sections of the record owned by other apps ---------------------------------------------------------
@dataclass(frozen=True)
class RecordItem:
    """One line of a record section (a case, an appointment, a document), already in plain words."""

    ref: str
    label: str
    status: str
    when: dt.datetime | dt.date | None = None
    url: str = ""


RECORD_SECTIONS = ("open_cases", "next_appointments", "recent_documents")
_section_providers: dict[str, Callable[[Person], list[RecordItem]]] = {}


def register_record_section(section: str, provider: Callable[[Person], list[RecordItem]]) -> None:
    """Let the app that owns cases, appointments or documents fill that section of the customer record.

    Call it from the app's `AppConfig.ready()`. A provider runs exactly one query (the record's query count is
    locked in tests) and returns at most a handful of items, most relevant first.
    """
    if section not in RECORD_SECTIONS:
        raise ValueError(f"unknown record section {section!r} (one of {RECORD_SECTIONS})")
    _section_providers[section] = provider


def record_section_count() -> int:
    return len(_section_providers)


def _encode_cursor(contact: Contact) -> str:
    raw = f"{contact.started_at.isoformat()}|{contact.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, pk = raw.split("|")
        parsed = parse_datetime(when)
        if parsed is None:
            raise ValueError(when)
        return parsed, int(pk)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.from_fields({"cursor": _("is not a cursor given by a previous page")}) from None


def timeline(
    *, person: Person, channel: str | None = None, motive: str | None = None, cursor: str | None = None,
    limit: int = TIMELINE_PAGE,
) -> TimelinePage:  # fmt: skip
    """Contacts of a person, newest first, a page at a time (keyset pagination: fast at any depth)."""
    limit = max(1, min(limit, MAX_TIMELINE_PAGE))
    params: dict[str, Any] = {"person_id": person.pk}
    if channel:
        if channel not in _CHANNELS:
            raise InvalidInput.from_fields({"channel": _("unknown channel %(c)s") % {"c": channel}})
        params["channel"] = channel
    if motive:
        if not Motive.objects.filter(pk=motive[:40]).exists():
            raise InvalidInput.from_fields({"motive": _("unknown motive %(m)s") % {"m": motive[:40]}})
        params["motive"] = motive
    if cursor:
        params["when"], params["pk"] = _decode_cursor(cursor)
    page = _TIMELINE(bool(channel), bool(motive), bool(cursor), limit + 1, **params)
    more = len(page) > limit
    page = page[:limit]
    return TimelinePage(page, _encode_cursor(page[-1]) if more and page else None)


def _timeline_query(
    by_channel: bool, by_motive: bool, after_cursor: bool, size: int, *, person_id: int, channel: str = "",
    motive: str = "", when: dt.datetime | None = None, pk: int = 0,
) -> QuerySet[Contact]:  # fmt: skip
    contacts = Contact.objects.filter(person_id=person_id).select_related("motive", "agent")
    if by_channel:
        contacts = contacts.filter(channel=channel)
    if by_motive:
        contacts = contacts.filter(motive_id=motive)
    if after_cursor:
        contacts = contacts.filter(Q(started_at__lt=when) | Q(started_at=when, pk__lt=pk))
    return contacts.order_by("-started_at", "-id")[:size]


_TIMELINE = PreparedQuery(_timeline_query)
_RECORD_PERSON = PreparedQuery(
    lambda scope, *, person_id, caisse=None: _scoped(
        Person.objects.select_related("caisse", "account", "channel_preference").filter(pk=person_id),
        scope,
        caisse,
    )
)
_CONTACT_POINTS = PreparedQuery(
    lambda *, person_id: ContactPoint.objects.filter(person_id=person_id).order_by(
        "kind", "-verified", "value"
    )
)
_CONSENTS = PreparedQuery(
    lambda *, person_id: Consent.objects.filter(person_id=person_id).order_by("purpose")
)
_BENEFICIARIES = PreparedQuery(
    lambda *, person_id: Person.objects.filter(parent_id=person_id).order_by("birth_date")
)


def open_record(
    *, actor: Actor, channel: Channel, person_id: int, purpose: str, timeline_channel: str | None = None,
    timeline_motive: str | None = None, cursor: str | None = None, limit: int = TIMELINE_PAGE,
) -> CustomerRecord:  # fmt: skip
    """Open a person's customer record and write who opened it, when and why (the person can read it)."""
    if actor.kind != ActorKind.AGENT or actor.user is None:
        raise Forbidden(_("only staff open customer records"))
    fields: dict[str, str] = {}
    purpose = " ".join((check_text(fields, "purpose", purpose, 200) or "").split())
    if fields:
        raise InvalidInput.from_fields(fields)
    if not purpose:
        raise InvalidInput.from_fields({"purpose": _("say why you open this record")})
    scope, scope_params = _caisse_scope(actor)
    found = _RECORD_PERSON(scope, person_id=person_id, **scope_params) if scope != "none" else []
    if not found:
        raise NotFound(_("no such person"))
    person = found[0]
    page = timeline(
        person=person, channel=timeline_channel, motive=timeline_motive, cursor=cursor, limit=limit
    )
    insert_row(
        RecordAccess, person_id=person.pk, user_id=actor.user.pk, purpose=purpose[:200], channel=str(channel),
        accessed_at=timezone.now(),
    )  # fmt: skip
    return CustomerRecord(
        person=person,
        contact_points=_CONTACT_POINTS(person_id=person.pk),
        consents=_CONSENTS(person_id=person.pk),
        preference=getattr(person, "channel_preference", None),
        account=getattr(person, "account", None),
        beneficiaries=_BENEFICIARIES(person_id=person.pk),
        timeline=page,
        **{section: provider(person) for section, provider in _section_providers.items()},
    )


def add_agent_contact(
    *, actor: Actor, channel: str, person_id: int, motive: str, outcome: str = Outcome.RESOLVED, note: str = "",
    answered: bool | None = None, on_appointment: bool | None = None, waited_seconds: int | None = None,
) -> Contact:  # fmt: skip
    """An agent notes a phone call or a reception visit in the record (the console's "add a contact")."""
    if channel not in (
        Channel.PHONE,
        Channel.RECEPTION,
        Channel.EMAIL,
        Channel.LETTER,
    ):
        raise InvalidInput.from_fields(
            {"channel": _("an agent records phone, reception, email or letter contacts")}
        )
    person = scope_to_caisse(Person.objects.all(), actor).filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("no such person"))
    return record_contact(
        actor=actor, channel=channel, person=person, motive=motive, outcome=outcome, note=note,
        answered=answered if channel == Channel.PHONE else None,
        on_appointment=on_appointment if channel == Channel.RECEPTION else None,
        waited_seconds=waited_seconds if channel == Channel.RECEPTION else None,
    )  # fmt: skip


def parse_contact_rows(body: bytes, content_type: str) -> list[Any]:
    """A JSON array, or NDJSON (one object per line)."""
    return parse_batch_rows(body, content_type, not_a_list=_("must be a JSON array of contacts (or NDJSON)"))


def iter_motives() -> Iterable[Motive]:
    return Motive.objects.filter(active=True).order_by("code")


def load_motives(motive_model: Any = Motive) -> int:
    """Create the motives of the shipped taxonomy (crm/data/motives.csv) that are missing; labels changed in the
    admin are kept. The model is a parameter so that the data migration can pass its historical model."""
    import csv
    from importlib.resources import files

    text = files("omniguichet.crm").joinpath("data/motives.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    existing = set(motive_model.objects.values_list("code", flat=True))
    motive_model.objects.bulk_create([motive_model(**r) for r in rows if r["code"] not in existing])
    return len(rows)


CONSULTATION_WINDOW = dt.timedelta(minutes=30)


def consulted_timeline(
    *, actor: Actor, person_id: int, channel: str | None = None, motive: str | None = None,
    cursor: str | None = None, limit: int = TIMELINE_PAGE,
) -> TimelinePage:  # fmt: skip
    """Further pages of a timeline, for whoever opened the record recently (that opening is the audit entry;
    paging through it does not write another, nor does it let anyone read a record without one)."""
    if actor.kind != ActorKind.AGENT or actor.user is None:
        raise Forbidden(_("only staff open customer records"))
    person = scope_to_caisse(Person.objects.all(), actor).filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("no such person"))
    opened = RecordAccess.objects.filter(
        person=person, user=actor.user, accessed_at__gte=timezone.now() - CONSULTATION_WINDOW
    ).exists()
    if not opened:
        raise Forbidden(_("open the record first (GET /persons/{id}/record with a purpose)"))
    return timeline(person=person, channel=channel, motive=motive, cursor=cursor, limit=limit)


def my_record_accesses(*, actor: Actor, limit: int = 100) -> list[RecordAccess]:
    """The accesses to the acting insured person's own record, newest first."""
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves reads this"))
    return list(
        RecordAccess.objects.filter(person_id=actor.person_id)
        .select_related("user", "user__caisse")
        .order_by("-accessed_at", "-id")[:limit]
    )
