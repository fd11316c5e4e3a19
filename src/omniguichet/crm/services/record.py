"""The record on one screen: the person, their timeline (paged, filtered), the sections other apps register
(`register_record_section`), and the access log."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import PreparedQuery, insert_row
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.core.text import check_text, parse_batch_rows
from omniguichet.crm.models import Contact, Motive, Outcome, RecordAccess
from omniguichet.crm.services.common import _CHANNELS, MAX_TIMELINE_PAGE, TIMELINE_PAGE
from omniguichet.crm.services.recording import forget_motives, record_contact
from omniguichet.crm.services.search import _caisse_scope, _scoped
from omniguichet.referential.models import ChannelPreference, Consent, ContactPoint, Person


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


_subject_links: dict[str, Callable[[str], str]] = {}


def register_subject_link(kind: str, builder: Callable[[str], str]) -> None:
    """Let the app that owns a kind of subject (crm.SubjectKind) say where an agent opens it from a timeline
    entry: `builder(subject_ref) -> URL`, without a query (the timeline's query count is locked in tests)."""
    _subject_links[kind] = builder


def subject_link(kind: str, ref: str) -> str:
    builder = _subject_links.get(kind) if kind and ref else None
    return builder(ref) if builder else ""


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
    forget_motives()  # bulk_create sends no signal: the process's cache of motives is read again
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
