"""What every part of appointments shares: time (Europe/Paris wall clock to aware datetimes), the actor's
scope (sites, persons, motives), and the search cache of rarely changing rows."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    Appointment,
    AppointmentMotive,
    Site,
    Status,
)
from omniguichet.cases.models import OPEN_STATUSES, Case
from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.referential.models import Person

PARIS = ZoneInfo("Europe/Paris")


MAX_SLOTS = 200


DEFAULT_SLOTS = 30


MAX_SEARCH_DAYS = 120


REMINDER_BEFORE = dt.timedelta(hours=48)


MAX_DURATION = dt.timedelta(
    minutes=240
)  # the longest appointment a motive may have (see its check constraint)


MAX_CALLBACK_ATTEMPTS = 2


CALLBACK_RETRY_DELAY = dt.timedelta(minutes=15)


MANAGE_SALT = "omniguichet.appointments.manage"


OFFER_SALT = "omniguichet.appointments.offer"


BOOKING_CHANNELS = {
    ActorKind.INSURED: {Channel.WEB, Channel.APP},
    ActorKind.AGENT: {Channel.PHONE, Channel.RECEPTION},
}


def local_datetime(day: dt.date, at: dt.time) -> dt.datetime | None:
    """The aware instant of a local wall-clock time in Europe/Paris, or None when it does not exist (the hour
    skipped when clocks go forward). An ambiguous time (the hour repeated in autumn) is its first occurrence."""
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=PARIS)
    if aware.astimezone(dt.UTC).astimezone(PARIS).replace(tzinfo=None) != naive:
        return None
    return aware


def _boundary(day: dt.date, at: dt.time) -> dt.datetime:
    """A period boundary as an instant, even inside the skipped hour (then the instant just after it)."""
    aware = local_datetime(day, at)
    if aware is not None:
        return aware
    return dt.datetime.combine(day, at).replace(tzinfo=PARIS).astimezone(dt.UTC).astimezone(PARIS)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants a local day starts and ends (23, 24 or 25 hours apart)."""
    return _boundary(day, dt.time(0)), _boundary(day + dt.timedelta(days=1), dt.time(0))


def _from_epoch(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _minutes(at: dt.time | str) -> int:
    if isinstance(at, str):  # "HH:MM[:SS]" as SQLite returns it to a plain cursor
        return int(at[:2]) * 60 + int(at[3:5])
    return at.hour * 60 + at.minute


def _time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


def person_for(*, actor: Actor, person_id: int) -> Person:
    """The person an agent's booking page is about (NotFound for another caisse's person, like a missing one)."""
    return _person_for(actor, person_id)


def appointment_by_code(code: str) -> Appointment:
    """The appointment of a confirmation's check-in code (the QR page; no name is shown there)."""
    appointment = (
        Appointment.objects.select_related("site", "motive").filter(checkin_code=code[:16].upper()).first()
    )
    if appointment is None:
        raise NotFound(_("no such appointment"))
    return appointment


def _person_for(actor: Actor, person_id: int | None) -> Person:
    """The person the actor acts for: an insured person only for themselves; an agent for a person of their
    caisse (another caisse's person is "not found", exactly like a missing one)."""
    if actor.kind == ActorKind.INSURED:
        if actor.person_id is None or (person_id is not None and person_id != actor.person_id):
            raise NotFound(_("no such person"))
        person = Person.objects.filter(pk=actor.person_id).first()
    elif actor.kind == ActorKind.AGENT or actor.kind == ActorKind.SYSTEM:
        if person_id is None:
            raise InvalidInput.from_fields({"person_id": _("is required when an agent books")})
        person = scope_to_caisse(Person.objects.all(), actor).filter(pk=person_id).first()
    else:
        raise Forbidden(_("appointments are booked by the person or by an agent"))
    if person is None:
        raise NotFound(_("no such person"))
    return person


def _caisse_of(actor: Actor, person: Person | None) -> str | None:
    if person is not None:
        return person.caisse_id
    if actor.kind == ActorKind.INSURED and actor.person_id is not None:
        return Person.objects.filter(pk=actor.person_id).values_list("caisse_id", flat=True).first()
    if actor.sees_all_caisses:
        return None
    return actor.caisse_code or "---"


def visible_sites(*, actor: Actor, person: Person | None = None) -> QuerySet[Site]:
    """Active sites a person may book at (their caisse's) or an agent works with (their caisse's)."""
    return _active_sites(_caisse_of(actor, person))


def _active_sites(caisse: str | None) -> QuerySet[Site]:
    sites = Site.objects.filter(active=True)
    return sites if caisse is None else sites.filter(caisse_id=caisse)


def _site(actor: Actor, site_id: int | None, person: Person | None = None) -> Site:
    site = visible_sites(actor=actor, person=person).filter(pk=site_id).first() if site_id else None
    if site is None:
        raise NotFound(_("no such site"))
    return site


_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _motive(code: str | None, *, cached: bool = False) -> AppointmentMotive:
    """An active motive by its code (the search may read it from the schedule cache; booking reads it fresh)."""
    code = (code or "")[:40]
    if not _SLUG.fullmatch(code):  # codes are slugs: anything else (a NUL byte...) is unknown, not a query
        motive = None
    elif cached:
        motive = _search_cached(
            ("motive", code), lambda: AppointmentMotive.objects.filter(pk=code, active=True).first()
        )
    else:
        motive = AppointmentMotive.objects.filter(pk=code, active=True).first()
    if motive is None:
        raise InvalidInput.from_fields({"motive": _("unknown appointment motive %(m)s") % {"m": code}})
    return motive


def active_motives() -> list[AppointmentMotive]:
    return list(AppointmentMotive.objects.filter(active=True).order_by("label"))


def case_of(person: Person, reference: str) -> Case:
    """A case of this person, by its reference (another person's case is refused exactly like a missing one)."""
    case = Case.objects.filter(reference=reference.strip()[:40], person=person).first()
    if case is None:
        raise InvalidInput.from_fields({"case_ref": _("no such case of this person")})
    return case


def open_cases(*, actor: Actor, person_id: int | None = None) -> list[Case]:
    """The open cases of the person a booking page is about (to book an appointment about one of them)."""
    person = _person_for(actor, person_id)
    return list(
        Case.objects.filter(person=person, status__in=OPEN_STATUSES).order_by("-opened_at", "-id")[:20]
    )


def appointments_by_case(case_ids: Iterable[int]) -> dict[int, list[Appointment]]:
    """The appointments about these cases (booked or past, not cancelled), by case, in time order: one query."""
    by_case: dict[int, list[Appointment]] = defaultdict(list)
    ids = list(case_ids)
    if not ids:
        return by_case
    for appointment in (
        Appointment.objects.filter(case_id__in=ids)
        .exclude(status=Status.CANCELLED)
        .select_related("motive", "site")
        .order_by("start")
    ):
        by_case[appointment.case_id].append(appointment)  # type: ignore[index]
    return by_case


WeeklyPattern = tuple[dict[int, int], dict[tuple[int, int], dict[tuple[int, int, int], list[int]]], set[int]]


# the active sites of a caisse, a motive. Kept APPOINTMENTS_SCHEDULE_CACHE_SECONDS in this process.
_search_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}


def forget_weekly_patterns(**_kwargs: Any) -> None:
    """Drop what the search caches (connected to the saves and deletions of sites, hours, availability,
    motives)."""
    _search_cache.clear()


def _search_cached(key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
    import time

    ttl = settings.APPOINTMENTS_SCHEDULE_CACHE_SECONDS
    if ttl <= 0:
        return read()
    hit = _search_cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    value = read()
    if len(_search_cache) > 5000:
        _search_cache.clear()
    _search_cache[key] = (time.monotonic() + ttl, value)
    return value


def _local(when: dt.datetime) -> str:
    return f"{when.astimezone(PARIS):%d/%m/%Y %H:%M}"


def _label(appointment: Appointment) -> str:
    local = appointment.start.astimezone(PARIS)
    return f"{appointment.motive.label} — {local:%d/%m/%Y %H:%M}"
