"""Appointments: free-slot search, booking (no double booking, enforced by the database), cancellation,
rescheduling from a signed link, the waiting list, phone call-backs, reminders, confirmations and the demo sites.

Times: opening hours and availabilities are local wall-clock times in Europe/Paris; every slot is computed by
turning a local date and time into an aware datetime (non-existent local times on the spring-forward night are
skipped), and durations are added in absolute time. Appointments are stored in UTC.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    AgentAvailability,
    Appointment,
    AppointmentMotive,
    Mode,
    OpeningHours,
    Site,
    SiteClosure,
    Status,
    WaitingListEntry,
    WaitStatus,
)
from omniguichet.cases.models import OPEN_STATUSES, Case
from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import PreparedQuery
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniguichet.crm.models import Direction, Outcome, SubjectKind
from omniguichet.crm.services import RecordItem, record_contact
from omniguichet.referential import validators
from omniguichet.referential.models import Caisse, ContactPoint, Person, User

PARIS = ZoneInfo("Europe/Paris")
MAX_SLOTS = 200
DEFAULT_SLOTS = 30
MAX_SEARCH_DAYS = 120
REMINDER_BEFORE = dt.timedelta(hours=48)
MAX_DURATION = dt.timedelta(
    minutes=240
)  # the longest appointment a motive may have (see its check constraint)
# Phone call-backs: after this many unanswered calls the appointment is closed as "no answer".
MAX_CALLBACK_ATTEMPTS = 2
CALLBACK_RETRY_DELAY = dt.timedelta(minutes=15)
MANAGE_SALT = "omniguichet.appointments.manage"
OFFER_SALT = "omniguichet.appointments.offer"
BOOKING_CHANNELS = {
    ActorKind.INSURED: {Channel.WEB, Channel.APP},
    ActorKind.AGENT: {Channel.PHONE, Channel.RECEPTION},
}


# --- time ---------------------------------------------------------------------------------------------------
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


# --- scope --------------------------------------------------------------------------------------------------
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


# --- the schedule of a set of sites ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    site_id: int
    start: dt.datetime
    end: dt.datetime


def site_names(site_ids: Iterable[int]) -> dict[int, str]:
    """The names of these sites, by id (one query), e.g. to label free slots."""
    return dict(Site.objects.filter(pk__in=set(site_ids)).values_list("pk", "name"))


class Schedule:
    """Opening hours, closures and agents' availability of some sites, and the busy periods of their agents, read
    a few days at a time. Times are handled as integer epoch seconds inside (comparing aware datetimes costs a
    time-zone conversion each time). The weekly pattern (hours, availability, grid) of a set of sites is cached
    for the search (`cached=True`, SCHEDULE_CACHE_SECONDS, dropped whenever one of those rows changes in this
    process); booking always reads it fresh."""

    def __init__(self, site_ids: list[int], first_day: dt.date, last_day: dt.date, *, cached: bool = False):
        self.site_ids = site_ids
        self.grid, self.windows, self.agents = _weekly_pattern(site_ids, cached=cached)
        self.closed: set[tuple[int, dt.date]] = set()
        for site_id, first, last in (
            SiteClosure.objects.filter(site_id__in=site_ids, last_day__gte=first_day, first_day__lte=last_day)
            .order_by()
            .values_list("site_id", "first_day", "last_day")
        ):
            day = max(first, first_day)
            while day <= min(last, last_day):
                self.closed.add((site_id, day))
                day += dt.timedelta(days=1)
        self._starts: dict[int, list[int]] = defaultdict(list)
        self._ends: dict[int, list[int]] = defaultdict(list)
        self._local: dict[tuple[dt.date, int], tuple[dt.datetime, int] | None] = {}
        self._loaded: int | None = None  # booked periods are read up to this instant
        self._window = 4 * 3600

    def busy_until(self, start: int, until: int) -> None:
        """Make sure the agents' booked periods are read from `start` (the first time) up to `until` (epoch
        seconds). They are read forward in windows of growing length (4 hours, then 8, 16... up to a week), each
        from the instant asked for: a search that finds its slots in the first hours of the first day reads only
        those hours. The search asks in time order."""
        if self._loaded is not None and until <= self._loaded:
            return
        # A window starts at the instant asked for: the hours between the last window and it (a night, a closed
        # day) are never asked about, so they are not read.
        low = start if self._loaded is None else max(self._loaded, start)
        high = max(until, low + self._window)
        self._window = min(self._window * 2, 7 * 86_400)
        starts, ends = self._starts, self._ends
        for agent_id, start, end in _busy_rows(
            self.agents, _from_epoch(low), _from_epoch(high)
        ):  # by agent, start
            agent_starts = starts[agent_id]
            if agent_starts and start <= agent_starts[-1]:
                continue  # read already with the previous window (it straddles the boundary)
            agent_starts.append(start)
            ends[agent_id].append(end)
        self._loaded = high

    def agent_free(self, agent_id: int, start: int, end: int) -> bool:
        """No booked period of the agent overlaps [start, end) (epoch seconds)."""
        starts = self._starts.get(agent_id)
        if not starts:
            return True
        # The last period starting before `end` is the only one that can overlap (an agent's periods never
        # overlap one another).
        i = bisect.bisect_left(starts, end) - 1
        return i < 0 or self._ends[agent_id][i] <= start

    def _at(self, day: dt.date, minute: int) -> tuple[dt.datetime, int] | None:
        key = (day, minute)
        if key not in self._local:
            aware = local_datetime(day, _time(minute))
            self._local[key] = None if aware is None else (aware, int(aware.timestamp()))
        return self._local[key]

    def day_slots(
        self, site_id: int, day: dt.date, duration: dt.timedelta
    ) -> list[tuple[dt.datetime, int, list[int]]]:
        """(start, start epoch, agents) for every grid start of the day where agents' windows hold the whole
        duration (not checked against bookings), in time order."""
        if (site_id, day) in self.closed:
            return []
        grid = self.grid[site_id]
        seconds = int(duration.total_seconds())
        by_start: dict[int, tuple[dt.datetime, list[int]]] = {}
        for (lo, hi, opens), agents in self.windows.get((site_id, day.weekday()), {}).items():
            end_at = self._at(day, hi)
            window_end = end_at[1] if end_at else int(_boundary(day, _time(hi)).timestamp())
            first = lo if (lo - opens) % grid == 0 else lo + grid - (lo - opens) % grid
            for minute in range(first, hi, grid):
                at = self._at(day, minute)
                if at is None:
                    continue
                if at[1] + seconds > window_end:
                    break
                by_start.setdefault(at[1], (at[0], []))[1].extend(agents)
        return [(when, ts, agents) for ts, (when, agents) in sorted(by_start.items())]


WeeklyPattern = tuple[dict[int, int], dict[tuple[int, int], dict[tuple[int, int, int], list[int]]], set[int]]
# What the free-slot search reads on every call and what rarely changes: the weekly pattern of a set of sites,
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


def _weekly_pattern(site_ids: list[int], *, cached: bool) -> WeeklyPattern:
    """The grid of each site and, per (site, weekday), the windows where opening hours and an agent's
    availability meet: {(start minute, end minute, opening minute): [agents]}."""
    if cached:
        return _search_cached(("pattern", *sorted(site_ids)), lambda: _weekly_pattern(site_ids, cached=False))
    openings: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for site_id, weekday, opens, closes in (
        OpeningHours.objects.filter(site_id__in=site_ids)
        .order_by()
        .values_list("site_id", "weekday", "opens", "closes")
    ):
        openings[(site_id, weekday)].append((_minutes(opens), _minutes(closes)))
    grid = dict(Site.objects.filter(pk__in=site_ids).order_by().values_list("pk", "slot_minutes"))
    windows: dict[tuple[int, int], dict[tuple[int, int, int], list[int]]] = defaultdict(
        lambda: defaultdict(list)
    )
    agents: set[int] = set()
    for site_id, agent_id, weekday, starts, ends in _availability_rows(site_ids):
        for open_minute, close_minute in openings.get((site_id, weekday), []):
            lo, hi = max(open_minute, starts), min(close_minute, ends)
            if lo < hi:
                windows[(site_id, weekday)][(lo, hi, open_minute)].append(agent_id)
                agents.add(agent_id)
    return grid, {k: dict(v) for k, v in windows.items()}, agents


def _availability_rows(site_ids: list[int]) -> list[tuple[int, int, int, int, int]]:
    """(site, agent, weekday, start minute, end minute) of the sites' availabilities."""
    table = AgentAvailability._meta.db_table
    placeholders = ", ".join(["%s"] * len(site_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT site_id, agent_id, weekday, {_sql_minutes('starts')}, {_sql_minutes('ends')} FROM {table} "
            f"WHERE site_id IN ({placeholders})",
            list(site_ids),
        )
        return [(a, b, c, int(d), int(e)) for a, b, c, d, e in cursor.fetchall()]


def _busy_rows(agent_ids: Iterable[int], low: dt.datetime, high: dt.datetime) -> list[tuple[int, int, int]]:
    """(agent, start, end) in epoch seconds of the booked appointments of these agents overlapping [low, high)."""
    agent_ids = list(agent_ids)
    if not agent_ids:
        return []
    table = Appointment._meta.db_table
    placeholders = ", ".join(["%s"] * len(agent_ids))
    adapt = connection.ops.adapt_datetimefield_value
    start_column, end_column = _sql_epoch("start"), _sql_epoch('"end"')
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT agent_id, {start_column}, {end_column} FROM {table} "
            # The status as a literal, so that the planner can use the partial index of live appointments;
            # a lower bound on start (no appointment lasts longer than MAX_DURATION) bounds its range scan.
            f"WHERE agent_id IN ({placeholders}) AND status = 'booked' AND start < %s AND start > %s "
            f'AND "end" > %s ORDER BY agent_id, start',
            [*agent_ids, adapt(high), adapt(low - MAX_DURATION), adapt(low)],
        )
        return cursor.fetchall()  # integers already (CAST in SQL)


# The two reads above turn times into integers in SQL: the ORM (and, on SQLite, the driver's converters) would
# otherwise build a Python object per value, which costs more than the query. One expression per database.
def _sql_epoch(column: str) -> str:
    if connection.vendor == "postgresql":
        # date_part gives a double precision, cheaper to compute than EXTRACT's numeric for every row.
        return f"CAST(date_part('epoch', {column}) AS BIGINT)"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"  # SQLite stores UTC text


def _sql_minutes(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(HOUR FROM {column}) * 60 + EXTRACT(MINUTE FROM {column}) AS INTEGER)"
    return f"(CAST(substr({column}, 1, 2) AS INTEGER) * 60 + CAST(substr({column}, 4, 2) AS INTEGER))"


def _booking_bounds(motive: AppointmentMotive, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return now + dt.timedelta(hours=motive.min_delay_hours), now + dt.timedelta(days=motive.max_delay_days)


def find_free_slots(
    *, actor: Actor, channel: str, motive: str, site_id: int | None = None, person_id: int | None = None,
    date_from: dt.date | None = None, date_to: dt.date | None = None, limit: int = DEFAULT_SLOTS,
) -> list[Slot]:  # fmt: skip
    """The first free slots (a site and a start) for a motive at one site or at every site of the caisse,
    earliest first, within the motive's booking delays. Days are scanned in growing chunks and the scan stops
    as soon as `limit` slots are found, so the search costs a few queries whatever the period asked."""
    person = _person_for(actor, person_id) if (person_id or actor.kind == ActorKind.INSURED) else None
    appointment_motive = _motive(motive, cached=True)
    limit = max(1, min(limit, MAX_SLOTS))
    now = timezone.now()
    earliest, latest = _booking_bounds(appointment_motive, now)
    first_day = max(date_from or earliest.astimezone(PARIS).date(), earliest.astimezone(PARIS).date())
    last_day = min(
        date_to or latest.astimezone(PARIS).date(),
        latest.astimezone(PARIS).date(),
        first_day + dt.timedelta(days=MAX_SEARCH_DAYS),
    )
    if date_from and date_to and date_to < date_from:
        raise InvalidInput.from_fields({"to": _("must not be before from")})
    if site_id is not None:
        site_ids = [_site(actor, site_id, person).pk]
    else:
        caisse = _caisse_of(actor, person)
        site_ids = _search_cached(
            ("sites", caisse), lambda: list(_active_sites(caisse).order_by("pk").values_list("pk", flat=True))
        )
        if len(site_ids) > 50:
            raise InvalidInput.from_fields({"site": _("choose a site")})
    if not site_ids or last_day < first_day:
        return []
    schedule = Schedule(site_ids, first_day, last_day, cached=True)
    duration = dt.timedelta(minutes=appointment_motive.duration_minutes)
    seconds = appointment_motive.duration_minutes * 60
    earliest_ts, latest_ts = int(earliest.timestamp()), int(latest.timestamp())
    slots: list[Slot] = []
    day = first_day
    while day <= last_day and len(slots) < limit:
        # Every candidate start of the day at every site, in time order: checked until the limit is met.
        candidates = sorted(
            (ts, site_id, start, agents)
            for site_id in site_ids
            for start, ts, agents in schedule.day_slots(site_id, day, duration)
            if earliest_ts <= ts <= latest_ts
        )
        for ts, site_id, start, agents in candidates:
            schedule.busy_until(ts, ts + seconds)
            if any(schedule.agent_free(agent_id, ts, ts + seconds) for agent_id in agents):
                slots.append(Slot(site_id, start, start + duration))
                if len(slots) >= limit:
                    break
        day += dt.timedelta(days=1)
    return slots


# --- booking ------------------------------------------------------------------------------------------------
def _check_channel(actor: Actor, channel: str) -> None:
    allowed = BOOKING_CHANNELS.get(actor.kind)  # type: ignore[call-overload]
    if allowed is None or channel not in allowed:
        raise InvalidInput.from_fields(
            {"channel": _("%(channel)s is not a channel to book through here") % {"channel": channel}}
        )


def _candidate_agents(site: Site, motive: AppointmentMotive, start: dt.datetime) -> list[int]:
    """Agents whose availability at the site holds the whole appointment on the site's grid; a clear refusal
    when the site is closed that day or the time is outside its hours."""
    if timezone.is_naive(start):
        raise InvalidInput.from_fields(
            {"start": _("needs a time zone offset (e.g. 2026-03-02T09:30:00+01:00)")}
        )
    local = start.astimezone(PARIS)
    day = local.date()
    if SiteClosure.objects.filter(site=site, first_day__lte=day, last_day__gte=day).exists():
        raise InvalidInput.from_fields(
            {"start": _("the site is closed on %(day)s") % {"day": day.isoformat()}}
        )
    schedule = Schedule([site.pk], day, day)
    duration = dt.timedelta(minutes=motive.duration_minutes)
    start_utc = start.astimezone(dt.UTC)
    agents = next((a for when, _ts, a in schedule.day_slots(site.pk, day, duration) if when == start_utc), [])
    if not agents:
        raise InvalidInput.from_fields(
            {"start": _("no appointment starts at that time: outside the opening hours or off the slot grid")}
        )
    # Spread bookings over the agents rather than filling the first one.
    shift = int(start.timestamp() // 60) % len(agents)
    return agents[shift:] + agents[:shift]


def _check_delays(motive: AppointmentMotive, start: dt.datetime, now: dt.datetime) -> None:
    earliest, latest = _booking_bounds(motive, now)
    if start < earliest:
        raise InvalidInput.from_fields(
            {"start": _("must be at least %(h)d hours from now") % {"h": motive.min_delay_hours}}
        )
    if start > latest:
        raise InvalidInput.from_fields(
            {"start": _("must be at most %(d)d days from now") % {"d": motive.max_delay_days}}
        )


def _callback_phone(person: Person, phone: str) -> str:
    if phone.strip():
        try:
            return validators.validate_phone_number(phone)  # a landline can be called back too
        except ValidationError as exc:
            raise InvalidInput.from_fields({"phone": " ".join(str(m) for m in exc.messages)}) from None
    known = (
        ContactPoint.objects.filter(person=person, kind="mobile")
        .order_by("-verified", "-created_at")
        .values_list("value", flat=True)
        .first()
    )
    if not known:
        raise InvalidInput.from_fields({"phone": _("a number to call back is required")})
    return known


def _lock_and_insert(
    person: Person, site: Site, motive: AppointmentMotive, start: dt.datetime, **extra: Any
) -> Appointment:
    """Book the first candidate agent still free. Each agent's row is locked while their bookings are checked
    (PostgreSQL: SELECT ... FOR UPDATE; SQLite serialises writers), and the partial unique index on
    (agent, start) refuses a second live appointment whatever happens: concurrent requests cannot double-book."""
    end = start + dt.timedelta(minutes=motive.duration_minutes)
    for agent_id in _candidate_agents(site, motive, start):
        list(User.objects.select_for_update().filter(pk=agent_id).values_list("pk", flat=True))
        overlap = Appointment.objects.filter(
            agent_id=agent_id, status=Status.BOOKED, start__lt=end, end__gt=start
        ).exists()
        if overlap:
            continue
        try:
            with transaction.atomic():
                return Appointment.objects.create(
                    person=person, caisse_id=site.caisse_id, site=site, motive=motive, agent_id=agent_id,
                    mode=motive.mode, start=start, end=end, checkin_code=new_checkin_code(), **extra,
                )  # fmt: skip
        except IntegrityError:
            continue
    raise Conflict(_("this slot has just been taken: choose another one"), fields={"start": _("taken")})


def new_checkin_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed at a kiosk
    return "".join(secrets.choice(alphabet) for _ in range(10))


def _local(when: dt.datetime) -> str:
    return f"{when.astimezone(PARIS):%d/%m/%Y %H:%M}"


def _label(appointment: Appointment) -> str:
    local = appointment.start.astimezone(PARIS)
    return f"{appointment.motive.label} — {local:%d/%m/%Y %H:%M}"


@transaction.atomic
def book(
    *, actor: Actor, channel: str, site_id: int, motive: str, start: dt.datetime, person_id: int | None = None,
    phone: str = "", note: str = "", case_ref: str = "",
) -> Appointment:  # fmt: skip
    """Book an appointment: by the insured person for themselves (web, app) or by an agent for a person of
    their caisse (phone, reception). Refused clearly outside delays or hours, at another caisse's site, on a
    taken slot; nothing is written unless everything is."""
    _check_channel(actor, channel)
    person = _person_for(actor, person_id)
    site = _site(actor, site_id, person)
    appointment_motive = _motive(motive)
    fields: dict[str, str] = {}
    if len(note) > 500:
        fields["note"] = _("at most 500 characters")
    if "\x00" in note + phone:
        fields["note"] = _("contains a NUL character")
    if fields:
        raise InvalidInput.from_fields(fields)
    case = case_of(person, case_ref) if case_ref.strip() else None
    if timezone.is_naive(start):
        raise InvalidInput.from_fields(
            {"start": _("needs a time zone offset (e.g. 2026-03-02T09:30:00+01:00)")}
        )
    _check_delays(appointment_motive, start, timezone.now())
    phone = _callback_phone(person, phone) if appointment_motive.mode == Mode.PHONE else ""
    already = Appointment.objects.filter(
        person=person, motive=appointment_motive, status=Status.BOOKED, start__gte=timezone.now()
    ).first()
    if already is not None:
        raise Conflict(
            _("an appointment for this motive is already booked on %(when)s: reschedule it instead")
            % {"when": f"{already.start.astimezone(PARIS):%d/%m/%Y %H:%M}"},
            fields={"motive": _("already booked")},
        )
    appointment = _lock_and_insert(
        person, site, appointment_motive, start, booked_channel=channel,
        booked_by=actor.user if actor.kind == ActorKind.AGENT else None,
        phone=phone, note=note.strip(), case=case,
        video_room=secrets.token_urlsafe(24) if appointment_motive.mode == Mode.VIDEO else "",
    )  # fmt: skip
    if case is None:
        record_contact(
            actor=actor, channel=channel, person=person, motive=appointment_motive.contact_motive_id,
            note=_("Appointment booked: %(label)s") % {"label": _label(appointment)},
            subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
        )  # fmt: skip
    else:  # about a case: the contact's subject is the case, its note names the appointment
        record_contact(
            actor=actor, channel=channel, person=person, motive=appointment_motive.contact_motive_id,
            note=_("Appointment booked about case %(case)s: %(label)s (appointment %(id)s)")
            % {"case": case.reference, "label": _label(appointment), "id": appointment.pk},
            subject_kind=SubjectKind.CASE, subject_ref=case.reference,
        )  # fmt: skip
    _after_booking(appointment, kind="confirmation")
    return appointment


def _after_booking(appointment: Appointment, *, kind: str) -> None:
    from omniguichet.appointments.tasks import send_reminder

    appointment_id, start = appointment.pk, appointment.start

    def later() -> None:
        send_confirmation(appointment_id, kind=kind)
        run_after = start - REMINDER_BEFORE
        if run_after > timezone.now():
            send_reminder.using(run_after=run_after).enqueue(appointment_id, start.isoformat())

    transaction.on_commit(later)


def _appointment_for(actor: Actor, appointment_id: int, *, lock: bool = False) -> Appointment:
    appointments = Appointment.objects.select_related("motive", "site", "person", "case")
    if lock:
        appointments = appointments.select_for_update(of=("self",))
    if actor.kind == ActorKind.INSURED:
        appointments = appointments.filter(person_id=actor.person_id or 0)
    elif not actor.sees_all_caisses:
        appointments = appointments.filter(caisse_id=actor.caisse_code or "---")
    appointment = appointments.filter(pk=appointment_id).first()
    if appointment is None:
        raise NotFound(_("no such appointment"))
    return appointment


def get_appointment(*, actor: Actor, appointment_id: int) -> Appointment:
    return _appointment_for(actor, appointment_id)


def list_appointments(
    *, actor: Actor, person_id: int | None = None, upcoming: bool = True, case_ref: str = ""
) -> list[Appointment]:
    """The person's upcoming appointments (or all, latest first); `case_ref`: only those about that case."""
    person = _person_for(actor, person_id)
    appointments = Appointment.objects.filter(person=person).select_related("motive", "site", "case")
    if case_ref:
        appointments = appointments.filter(case=case_of(person, case_ref))
    if upcoming:
        appointments = appointments.filter(status=Status.BOOKED, end__gte=timezone.now()).order_by("start")
    else:
        appointments = appointments.order_by("-start")
    return list(appointments[:50])


@transaction.atomic
def cancel(*, actor: Actor, channel: str, appointment_id: int, reason: str = "") -> Appointment:
    appointment = _appointment_for(actor, appointment_id, lock=True)
    if appointment.status != Status.BOOKED:
        raise Conflict(
            _("this appointment is not booked any more (%(s)s)") % {"s": appointment.get_status_display()}
        )
    if appointment.start <= timezone.now():
        raise Conflict(_("this appointment has already started"))
    appointment.status = Status.CANCELLED
    appointment.cancelled_at = timezone.now()
    appointment.save(update_fields=["status", "cancelled_at"])
    record_contact(
        actor=actor, channel=channel, person=appointment.person, motive=appointment.motive.contact_motive_id,
        note=_("Appointment cancelled: %(label)s") % {"label": _label(appointment)}
        + (f" — {reason[:500]}" if reason else ""),
        subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
    )  # fmt: skip
    appointment_id, site_id, motive_code, start = (
        appointment.pk,
        appointment.site_id,
        appointment.motive_id,
        appointment.start,
    )
    transaction.on_commit(lambda: send_confirmation(appointment_id, kind="cancellation"))
    transaction.on_commit(
        lambda: offer_freed_slot(
            site_id=site_id, motive=motive_code, start=start, freed_by=appointment.person_id
        )
    )
    return appointment


@transaction.atomic
def reschedule(*, actor: Actor, channel: str, appointment_id: int, start: dt.datetime) -> Appointment:
    """Move an appointment to another start at the same site: the new one is booked before the old one is
    released, in one transaction (if the new slot is taken, the old appointment stays)."""
    old = _appointment_for(actor, appointment_id, lock=True)
    if old.status != Status.BOOKED:
        raise Conflict(_("this appointment is not booked any more (%(s)s)") % {"s": old.get_status_display()})
    if timezone.is_naive(start):
        raise InvalidInput.from_fields(
            {"start": _("needs a time zone offset (e.g. 2026-03-02T09:30:00+01:00)")}
        )
    _check_delays(old.motive, start, timezone.now())
    old.status = Status.CANCELLED
    old.cancelled_at = timezone.now()
    old.save(update_fields=["status", "cancelled_at"])
    new = _lock_and_insert(
        old.person, old.site, old.motive, start, booked_channel=channel,
        booked_by=actor.user if actor.kind == ActorKind.AGENT else None,
        phone=old.phone, note=old.note, case=old.case, video_room=secrets.token_urlsafe(24) if old.video_room else "",
    )  # fmt: skip
    record_contact(
        actor=actor, channel=channel, person=old.person, motive=old.motive.contact_motive_id,
        note=_("Appointment moved from %(old)s to %(new)s")
        % {"old": _local(old.start), "new": _local(new.start)},
        subject_kind=SubjectKind.APPOINTMENT, subject_ref=new.pk,
    )  # fmt: skip
    _after_booking(new, kind="rescheduled")
    site_id, motive_code, old_start, person_id = old.site_id, old.motive_id, old.start, old.person_id
    transaction.on_commit(
        lambda: offer_freed_slot(site_id=site_id, motive=motive_code, start=old_start, freed_by=person_id)
    )
    return new


# --- signed links -------------------------------------------------------------------------------------------
def manage_token(appointment: Appointment) -> str:
    return signing.dumps(
        {"a": appointment.pk, "c": appointment.checkin_code}, salt=MANAGE_SALT, compress=True
    )


def _unsign(token: str, salt: str, max_age: dt.timedelta) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidInput.from_fields(
            {"token": _("this link has expired")},
        ) from None
    except signing.BadSignature:
        raise InvalidInput.from_fields({"token": _("this link is not valid")}) from None
    if not isinstance(data, dict):
        raise InvalidInput.from_fields({"token": _("this link is not valid")})
    return data


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def link_max_age() -> dt.timedelta:
    return dt.timedelta(days=settings.APPOINTMENTS_LINK_MAX_AGE_DAYS)


def appointment_from_link(token: str) -> tuple[Actor, Appointment]:
    """The appointment a signed link was made for, and the actor it lets act (the person themselves).
    A forged or altered link, an expired one, or one for an appointment since moved: a clear refusal."""
    data = _unsign(token, MANAGE_SALT, link_max_age())
    appointment = (
        Appointment.objects.select_related("motive", "site", "person", "case")
        .filter(pk=_int(data.get("a")), checkin_code=str(data.get("c")))
        .first()
    )
    if appointment is None:
        raise InvalidInput.from_fields({"token": _("this link is not valid")})
    return link_actor(appointment.person_id), appointment


def link_actor(person_id: int) -> Actor:
    return Actor(kind=ActorKind.INSURED, person_id=person_id, label="signed link")


def public_url(path: str) -> str:
    return settings.OMNIGUICHET_PUBLIC_URL.rstrip("/") + path


def video_url(appointment: Appointment) -> str:
    """The video link of a video appointment (its unguessable room), "" for the other modes."""
    return public_url(f"/rendez-vous/visio/{appointment.video_room}/") if appointment.video_room else ""


# --- waiting list -------------------------------------------------------------------------------------------
def join_waiting_list(
    *, actor: Actor, channel: str, site_id: int, motive: str, earliest: dt.date, latest: dt.date,
    person_id: int | None = None,
) -> WaitingListEntry:  # fmt: skip
    person = _person_for(actor, person_id)
    site = _site(actor, site_id, person)
    appointment_motive = _motive(motive)
    today = timezone.localdate()
    fields: dict[str, str] = {}
    if latest < earliest:
        fields["latest"] = _("must not be before earliest")
    if latest < today:
        fields["latest"] = _("is in the past")
    if latest > today + dt.timedelta(days=appointment_motive.max_delay_days):
        fields["latest"] = _("must be at most %(d)d days from now") % {"d": appointment_motive.max_delay_days}
    if fields:
        raise InvalidInput.from_fields(fields)
    try:
        with transaction.atomic():
            return WaitingListEntry.objects.create(
                person=person,
                site=site,
                motive=appointment_motive,
                earliest=max(earliest, today),
                latest=latest,
            )
    except IntegrityError:
        raise Conflict(_("already on the waiting list for this motive at this site")) from None


def offer_token(entry: WaitingListEntry, start: dt.datetime) -> str:
    return signing.dumps({"w": entry.pk, "s": start.isoformat()}, salt=OFFER_SALT, compress=True)


def offer_freed_slot(
    *, site_id: int, motive: str, start: dt.datetime, freed_by: int | None = None
) -> WaitingListEntry | None:
    """Offer a freed slot to the longest-waiting person whose window holds it and who has not reached the cap
    of offers (APPOINTMENTS_MAX_OFFERS); the first to use the link books it."""
    if start <= timezone.now():
        return None
    day = start.astimezone(PARIS).date()
    cap = settings.APPOINTMENTS_MAX_OFFERS
    # The cap is per person: the offers of all their live waiting-list entries (several sites or motives) count.
    offers_to_person = (
        WaitingListEntry.objects.filter(person_id=OuterRef("person_id"), status=WaitStatus.WAITING)
        .values("person_id")
        .annotate(total=Sum("offers_sent"))
        .values("total")
    )
    with transaction.atomic():
        entry = (
            WaitingListEntry.objects.select_for_update(of=("self",))
            .select_related("person", "site", "motive")
            .filter(
                site_id=site_id, motive_id=motive, status=WaitStatus.WAITING, earliest__lte=day, latest__gte=day,
                offers_sent__lt=cap,
            )
            .alias(offers_to_person=Subquery(offers_to_person))
            .filter(offers_to_person__lt=cap)
            .exclude(person_id=freed_by or 0)
            .order_by("created_at", "pk")
            .first()
        )  # fmt: skip
        if entry is None:
            return None
        entry.offers_sent += 1
        entry.save(update_fields=["offers_sent"])
    link = public_url(f"/rendez-vous/offre/{offer_token(entry, start)}/")
    when = f"{start.astimezone(PARIS):%d/%m/%Y %H:%M}"
    notify(
        person=entry.person,
        key=f"offer:{entry.pk}:{start.isoformat()}",
        motive=entry.motive.contact_motive_id,
        sms=_("Assurance Maladie: a slot is free on %(when)s. Book it: %(link)s")
        % {"when": when, "link": link},
        subject=_("A slot is free on %(when)s") % {"when": when},
        body=_("A slot has been freed on %(when)s at %(site)s. The first to book it gets it: %(link)s")
        % {"when": when, "site": entry.site.name, "link": link},
    )
    return entry


def offer_from_link(token: str) -> tuple[WaitingListEntry, dt.datetime]:
    """The waiting-list entry and the freed start an offer link was made for. A forged, altered or expired link:
    InvalidInput (nothing to show); an offer already used or since closed: Conflict."""
    data = _unsign(token, OFFER_SALT, dt.timedelta(hours=settings.APPOINTMENTS_OFFER_HOURS))
    entry = WaitingListEntry.objects.select_related("motive", "site").filter(pk=_int(data.get("w"))).first()
    start = None
    with contextlib.suppress(ValueError):
        start = dt.datetime.fromisoformat(str(data.get("s")))
    if entry is None or start is None or timezone.is_naive(start):
        raise InvalidInput.from_fields({"token": _("this link is not valid")})
    if entry.status != WaitStatus.WAITING:
        raise Conflict(_("this offer is no longer valid"))
    return entry, start


def accept_offer(*, token: str) -> Appointment:
    entry, start = offer_from_link(token)
    actor = link_actor(entry.person_id)
    with transaction.atomic():
        later = Appointment.objects.filter(
            person_id=entry.person_id, motive=entry.motive, status=Status.BOOKED, start__gt=start
        ).values_list("pk", flat=True)
        for appointment_id in list(later):  # the later one gives way (a contact; its slot offered in turn)
            cancel(actor=actor, channel=Channel.WEB, appointment_id=appointment_id, reason=_("moved earlier"))
        appointment = book(
            actor=actor, channel=Channel.WEB, site_id=entry.site_id, motive=entry.motive_id, start=start
        )
        WaitingListEntry.objects.filter(pk=entry.pk).update(status=WaitStatus.BOOKED)
    return appointment


# --- messages to the person (through the outbound message ledger) ----------------------------------------------
# SMS and e-mail, as the person's contact points, preferences and consents allow; the account inbox when they
# have neither (outreach chooses the channels and keeps the quiet hours and the SMS cap).
MESSAGE_POLICY = "sms+email>inbox"


def _literal(text: str) -> str:
    """A text the ledger's template renderer leaves as it is (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def notify(
    *, person: Person, key: str, sms: str, subject: str, body: str, motive: str, subject_kind: str = "",
    subject_ref: str | int = "",
) -> int:  # fmt: skip
    """THE one way this app sends something to a person: a thin call to the outbound message ledger
    (`outreach.services.send_to_person`), to be called after commit. `key` is the idempotency key (the same key
    twice sends nothing more). Returns how many messages the ledger holds for that key."""
    from omniguichet.outreach.services import SMS_MAX, send_to_person

    if len(sms) > SMS_MAX:
        sms = sms[: SMS_MAX - 1] + "…"
    messages = send_to_person(
        actor=Actor.system("appointments"), person=person, idempotency_key=key, subject=_literal(subject[:200]),
        body=_literal(body), sms_body=_literal(sms), channel_policy=MESSAGE_POLICY, subject_kind=subject_kind,
        subject_ref=str(subject_ref), motive=motive,
    )  # fmt: skip
    return len(messages)


def manage_url(appointment: Appointment) -> str:
    return public_url(f"/rendez-vous/gerer/{manage_token(appointment)}/")


def send_confirmation(appointment_id: int, *, kind: str) -> int:
    """The confirmation (also after a move), the reminder or the cancellation of an appointment: SMS and
    e-mail with the QR code link, the signed link to change or cancel it and the signed link to its .ics."""
    appointment = Appointment.objects.select_related("motive", "site", "person").get(pk=appointment_id)
    when = f"{appointment.start.astimezone(PARIS):%d/%m/%Y %H:%M}"
    manage = manage_url(appointment)
    qr = public_url(f"/rendez-vous/qr/{appointment.checkin_code}/")
    where = _("by phone") if appointment.mode == Mode.PHONE else appointment.site.name
    if appointment.mode == Mode.VIDEO:
        where = _("by video: %(link)s") % {"link": video_url(appointment)}
    values = {"when": when, "where": where, "motive": appointment.motive.label, "manage": manage, "qr": qr,
              "code": appointment.checkin_code, "ics": manage + "ics"}  # fmt: skip
    desk = appointment.mode == Mode.DESK  # only desk appointments have a kiosk check-in code to show
    if kind == "cancellation":
        sms = _("Assurance Maladie: your appointment of %(when)s is cancelled.") % values
        subject = _("Appointment cancelled")
        body = sms
    elif kind == "reminder":
        if desk:
            text = _(
                "Assurance Maladie reminder: appointment on %(when)s, %(where)s. "
                "Your code: %(qr)s — change it: %(manage)s"
            )
        else:
            text = _("Assurance Maladie reminder: appointment on %(when)s, %(where)s. Change it: %(manage)s")
        sms = body = text % values
        subject = _("Reminder: your appointment on %(when)s") % values
    else:
        if desk:
            text = _(
                "Assurance Maladie: appointment on %(when)s, %(where)s (%(motive)s). "
                "Show this code at the kiosk: %(qr)s — change or cancel: %(manage)s"
            )
        else:
            text = _(
                "Assurance Maladie: appointment on %(when)s, %(where)s (%(motive)s). Change or cancel: %(manage)s"
            )
        sms = text % values
        subject = _("Your appointment on %(when)s") % values
        lines = [_("Your appointment (%(motive)s) is booked on %(when)s, %(where)s.") % values]
        if desk:
            lines.append(_("Check-in code: %(code)s (QR code: %(qr)s).") % values)
        lines.append(_("To change or cancel it: %(manage)s") % values)
        lines.append(_("To add it to your calendar (.ics): %(ics)s") % values)
        if appointment.motive.documents_to_bring:
            lines.append("")
            lines.append(_("Documents to bring: %(docs)s") % {"docs": appointment.motive.documents_to_bring})
        if deposit_url(appointment):
            lines.append(
                _("You can deposit them beforehand in your account: %(link)s")
                % {"link": deposit_url(appointment)}
            )
        body = "\n".join(lines)
    return notify(
        person=appointment.person, key=f"appointment:{appointment.pk}:{kind}", sms=sms, subject=subject,
        body=body, motive=appointment.motive.contact_motive_id, subject_kind=SubjectKind.APPOINTMENT,
        subject_ref=appointment.pk,
    )  # fmt: skip


def send_reminder_now(appointment_id: int, start_iso: str) -> bool:
    """The reminder 48 h before; sent once, and only if the appointment is still booked at that time."""
    with transaction.atomic():
        updated = Appointment.objects.filter(
            pk=appointment_id, status=Status.BOOKED, start=dt.datetime.fromisoformat(start_iso),
            reminder_sent_at__isnull=True,
        ).update(reminder_sent_at=timezone.now())  # fmt: skip
    if updated:
        send_confirmation(appointment_id, kind="reminder")
    return bool(updated)


# --- .ics ---------------------------------------------------------------------------------------------------
def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold_line(line: str) -> str:
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 74:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def ics(appointment: Appointment) -> str:
    """The appointment as an iCalendar (RFC 5545) event, times in UTC."""
    stamp = "%Y%m%dT%H%M%SZ"
    where = (
        _("Phone call-back to %(phone)s") % {"phone": appointment.phone}
        if appointment.mode == Mode.PHONE
        else (
            f"{appointment.site.name}, {appointment.site.address_line} "
            f"{appointment.site.postcode} {appointment.site.city}"
        )
    )
    description = _("Check-in code: %(code)s") % {"code": appointment.checkin_code}
    if appointment.motive.documents_to_bring:
        description += "\n" + _("Documents to bring: %(docs)s") % {
            "docs": appointment.motive.documents_to_bring
        }
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//omniguichet//appointments//FR", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:appointment-{appointment.pk}@omniguichet",
        f"DTSTAMP:{appointment.created_at.astimezone(dt.UTC):{stamp}}",
        f"DTSTART:{appointment.start.astimezone(dt.UTC):{stamp}}",
        f"DTEND:{appointment.end.astimezone(dt.UTC):{stamp}}",
        f"SUMMARY:{_ics_text(_('Assurance Maladie appointment: %(m)s') % {'m': appointment.motive.label})}",
        f"LOCATION:{_ics_text(where.strip())}", f"DESCRIPTION:{_ics_text(description)}",
        "STATUS:CANCELLED" if appointment.status == Status.CANCELLED else "STATUS:CONFIRMED",
        "END:VEVENT", "END:VCALENDAR",
    ]  # fmt: skip
    return "\r\n".join(_fold_line(line) for line in lines) + "\r\n"


def ics_attachments(messages: list) -> dict[int, list[tuple[str, bytes, str]]]:
    """The .ics of each appointment e-mail (registered with outreach's e-mail provider): built when the e-mail
    leaves, so a moved or cancelled appointment sends its current state. One query."""
    ids = {int(m.subject_ref) for m in messages if m.subject_ref.isdigit()}
    appointments = Appointment.objects.select_related("site", "motive").in_bulk(ids)
    return {
        m.pk: [("rendez-vous.ics", ics(appointments[int(m.subject_ref)]).encode(), "text/calendar")]
        for m in messages
        if m.subject_ref.isdigit() and int(m.subject_ref) in appointments
    }


def qr_svg(text: str) -> str:
    import io

    import segno

    buffer = io.BytesIO()
    # A full QR code, never a Micro QR (which segno picks for short texts): kiosk and phone scanners may not read
    # Micro QR.
    segno.make(text, error="m", micro=False).save(
        buffer, kind="svg", scale=6, border=2, xmldecl=False, svgns=True
    )
    return buffer.getvalue().decode()


# --- the customer record ----------------------------------------------------------------------------------
# Part of every record opening: compiled once (core.db.PreparedQuery).
_NEXT_APPOINTMENTS = PreparedQuery(
    lambda *, person_id, now: (
        Appointment.objects.filter(person_id=person_id, status=Status.BOOKED, end__gte=now)
        .select_related("motive", "site", "case")
        .order_by("start")[:5]
    )
)


def next_appointments_section(person: Person) -> list[RecordItem]:
    """The record's "next appointments" section: one query."""
    appointments = _NEXT_APPOINTMENTS(person_id=person.pk, now=timezone.now())
    return [
        RecordItem(
            ref=str(a.pk),
            label=f"{a.motive.label} — {a.site.name}"
            + (" — " + _("case %(ref)s") % {"ref": a.case.reference} if a.case_id else ""),  # type: ignore[union-attr]
            status=f"{a.get_mode_display()} · {a.start.astimezone(PARIS):%H:%M}",
            when=a.start,
            url=video_url(a),
        )
        for a in appointments
    ]


# --- phone call-backs ---------------------------------------------------------------------------------------
def callbacks_for_day(
    *, actor: Actor, day: dt.date | None = None, everyone: bool = False
) -> list[Appointment]:
    """Phone appointments of the day: the agent's own, or (everyone) those of the agent's caisse."""
    if actor.kind != ActorKind.AGENT or actor.user is None:
        raise Forbidden(_("reserved to staff"))
    day = day or timezone.localdate()
    low, high = _boundary(day, dt.time(0)), _boundary(day + dt.timedelta(days=1), dt.time(0))
    appointments = Appointment.objects.filter(mode=Mode.PHONE, start__gte=low, start__lt=high).exclude(
        status=Status.CANCELLED
    )
    if everyone:
        if not actor.sees_all_caisses:
            appointments = appointments.filter(caisse_id=actor.caisse_code or "---")
    else:
        appointments = appointments.filter(agent=actor.user)
    return list(appointments.select_related("person", "motive", "agent").order_by("start", "pk"))


@transaction.atomic
def record_callback(
    *, actor: Actor, appointment_id: int, answered: bool, outcome: str = Outcome.RESOLVED, note: str = ""
) -> Appointment:
    """The outcome of a call-back. Answered: a phone contact, appointment done. No answer: a phone contact
    (unanswered); the agent tries again after a delay, and after MAX_CALLBACK_ATTEMPTS the appointment is
    closed as "no answer" and the person is told by SMS/e-mail."""
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to staff"))
    appointment = _appointment_for(actor, appointment_id, lock=True)
    if appointment.mode != Mode.PHONE:
        raise InvalidInput.from_fields({"appointment": _("not a phone appointment")})
    if appointment.status != Status.BOOKED:
        raise Conflict(
            _("this call-back is already closed (%(s)s)") % {"s": appointment.get_status_display()}
        )
    if outcome not in Outcome.values:
        raise InvalidInput.from_fields(
            {"outcome": _("must be one of %(all)s") % {"all": ", ".join(Outcome.values)}}
        )
    appointment.callback_attempts += 1
    if answered:
        appointment.status = Status.DONE
        appointment.retry_after = None
    elif appointment.callback_attempts >= MAX_CALLBACK_ATTEMPTS:
        appointment.status = Status.NO_ANSWER
        appointment.retry_after = None
    else:
        appointment.retry_after = timezone.now() + CALLBACK_RETRY_DELAY
    appointment.save(update_fields=["callback_attempts", "status", "retry_after"])
    record_contact(
        actor=actor, channel=Channel.PHONE, person=appointment.person, motive=appointment.motive.contact_motive_id,
        direction=Direction.OUTBOUND, answered=answered, outcome=outcome if answered else Outcome.PENDING,
        note=note.strip()[:4000] or (_("Call-back: no answer (attempt %(n)d)") % {"n": appointment.callback_attempts}
                                     if not answered else ""),
        subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
    )  # fmt: skip
    if appointment.status == Status.NO_ANSWER:
        person, appointment_id, motive = (
            appointment.person,
            appointment.pk,
            appointment.motive.contact_motive_id,
        )
        transaction.on_commit(
            lambda: notify(
                person=person,
                key=f"appointment:{appointment_id}:no_answer",
                motive=motive,
                subject_kind=SubjectKind.APPOINTMENT,
                subject_ref=appointment_id,
                sms=_(
                    "Assurance Maladie: we tried to call you back twice without success. "
                    "Book a new appointment from your account."
                ),
                subject=_("We could not reach you"),
                body=_(
                    "We tried to call you back twice without success. You can book a new appointment from your account."
                ),
            )
        )
    return appointment


# --- documents to deposit before the appointment (the deposit purpose "appointment") -------------------------
# The back-office processing of documents deposited for an appointment, by the contact motive of its motive.
PROCESSING_BY_CONTACT_MOTIVE = {
    "ij_suivi": "ij", "css": "c2s", "carte_vitale": "droits", "remboursement": "remboursements",
}  # fmt: skip


def deposit_url(appointment: Appointment) -> str:
    """Where the person deposits the motive's documents before the appointment ("" when there is none)."""
    if not appointment.motive.deposit_types:
        return ""
    return public_url(f"/compte/documents/depot/?kind=appointment&ref={appointment.pk}")


def resolve_deposit_purpose(person: Person, ref: str) -> Any:
    """The resolver of the deposit purpose "appointment" (registered with documents in AppConfig.ready()):
    the documents of the appointment's motive, open while the appointment is booked and not over. The
    documents are to be processed before the appointment starts. Another person's appointment is refused by
    the documents app exactly like a missing one."""
    from omniguichet.documents.services import DepositPurpose

    if not ref.isdigit() or len(ref) > 18:
        raise NotFound(_("no such appointment"))
    appointment = Appointment.objects.select_related("motive").filter(pk=int(ref)).first()
    if appointment is None or not appointment.motive.deposit_types:
        raise NotFound(_("no such appointment"))
    return DepositPurpose(
        label=_("Appointment of %(when)s: %(motive)s")
        % {"when": _local(appointment.start), "motive": appointment.motive.label},
        expected_types=tuple(appointment.motive.deposit_types),
        is_open=appointment.status == Status.BOOKED and appointment.end > timezone.now(),
        person_id=appointment.person_id,
        processing_hint=PROCESSING_BY_CONTACT_MOTIVE.get(appointment.motive.contact_motive_id, "general"),
        deadline=appointment.start,
    )


# --- missed appointments -------------------------------------------------------------------------------------
# The channel a missed appointment is recorded on: where it should have happened.
MODE_CHANNEL: dict[str, str] = {
    Mode.DESK: Channel.RECEPTION,
    Mode.PHONE: Channel.PHONE,
    Mode.VIDEO: Channel.WEB,
}


def missed_after() -> dt.timedelta:
    return dt.timedelta(minutes=settings.APPOINTMENTS_MISSED_AFTER_MINUTES)


def mark_missed(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Mark missed the appointments still booked whose end passed more than APPOINTMENTS_MISSED_AFTER_MINUTES
    ago without an outcome: no visit closed (a person checked in and waiting or at a desk is not missed), no
    call-back outcome (a call-back still to try again is not missed). Each is recorded as a contact about the
    appointment (outcome pending, on the channel where it should have happened, by the system). Idempotent: an
    appointment is marked (and recorded) once; a replay does nothing. Returns how many were marked."""
    now = now or timezone.now()
    cutoff = now - missed_after()
    system = Actor.system("appointments")
    marked = 0
    while True:
        with transaction.atomic():
            due = list(
                Appointment.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Status.BOOKED, end__lt=cutoff)
                .filter(Q(retry_after__isnull=True) | Q(retry_after__lt=cutoff))
                .exclude(ticket__status__in=["waiting", "called"])
                .select_related("person", "motive", "site")
                .order_by("end", "pk")[:batch]
            )
            if not due:
                break
            Appointment.objects.filter(pk__in=[a.pk for a in due], status=Status.BOOKED).update(
                status=Status.MISSED
            )
            for appointment in due:
                record_contact(
                    actor=system, channel=MODE_CHANNEL[appointment.mode], person=appointment.person,
                    motive=appointment.motive.contact_motive_id, outcome=Outcome.PENDING, started_at=appointment.end,
                    note=_("Appointment missed: %(label)s (%(mode)s)")
                    % {"label": _label(appointment), "mode": appointment.get_mode_display()},
                    subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
                )  # fmt: skip
        marked += len(due)
        if len(due) < batch:
            break
    return marked


def video_room(room: str) -> Appointment:
    """The appointment of a video room (the link in its confirmation); NotFound for any other string."""
    appointment = (
        Appointment.objects.select_related("motive", "site", "case")
        .filter(video_room=room[:40], mode=Mode.VIDEO)
        .exclude(video_room="")
        .first()
    )
    if appointment is None:
        raise NotFound(_("no such video appointment"))
    return appointment


# --- demo sites -----------------------------------------------------------------------------------------------
SITE_NAMES = ["Accueil principal", "Agence Centre", "Agence Nord", "Agence Sud", "Point d'accueil Est"]
WEEK_HOURS = [(dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(16, 30))]


def seed_sites(
    *, sites_per_caisse: int = 5, agents_per_site: int = 2, caisses: Iterable[Caisse] | None = None
) -> int:
    """Sites for every caisse (Monday-Friday 8:30-12:00 and 13:30-16:30, 15-minute grid), the caisse's demo
    agent at its main site, and `agents_per_site` reception agents per site (no password: the demo logs in as
    agent-<code>). Idempotent: caisses that already have sites are left alone. Returns the sites created."""
    from omniguichet.referential.models import Role

    caisses = list(caisses if caisses is not None else Caisse.objects.all())
    with_sites = set(Site.objects.values_list("caisse_id", flat=True))
    todo = [c for c in caisses if c.code not in with_sites]
    if not todo:
        return 0
    with transaction.atomic():
        sites = Site.objects.bulk_create(
            [
                Site(
                    caisse=c,
                    name=f"{SITE_NAMES[i % len(SITE_NAMES)]} — {c.city}",
                    city=c.city,
                    slot_minutes=15,
                )
                for c in todo
                for i in range(sites_per_caisse)
            ]
        )
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(site=s, weekday=d, opens=o, closes=c)
                for s in sites
                for d in range(5)
                for o, c in WEEK_HOURS
            ]
        )
        names = [f"rdv-{s.caisse_id}-{k}-{j}" for k, s in enumerate(sites) for j in range(agents_per_site)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        new_users = []
        for k, s in enumerate(sites):
            for j in range(agents_per_site):
                name = f"rdv-{s.caisse_id}-{k}-{j}"
                if name not in existing:
                    user = User(username=name, role=Role.RECEPTION_AGENT, caisse_id=s.caisse_id)
                    user.set_unusable_password()
                    new_users.append(user)
        User.objects.bulk_create(new_users)
        users = dict(User.objects.filter(username__in=names).values_list("username", "pk"))
        demo_agents = dict(
            User.objects.filter(username__in=[f"agent-{c.code}" for c in todo]).values_list("caisse_id", "pk")
        )
        availability = []
        for k, s in enumerate(sites):
            agent_ids = [users[f"rdv-{s.caisse_id}-{k}-{j}"] for j in range(agents_per_site)]
            if SITE_NAMES.index(s.name.split(" — ")[0]) == 0 and s.caisse_id in demo_agents:
                agent_ids.append(demo_agents[s.caisse_id])
            for agent_id in agent_ids:
                for d in range(5):
                    for starts, ends in WEEK_HOURS:
                        availability.append(
                            AgentAvailability(site=s, agent_id=agent_id, weekday=d, starts=starts, ends=ends)
                        )
        AgentAvailability.objects.bulk_create(availability)
    return len(sites)


# --- the shipped catalogue of appointment motives (loaded by a data migration; labels edited in the admin stay) ---
MOTIVES = [
    # code, label, contact motive, mode, minutes, min hours, max days, documents
    (
        "ij_dossier",
        "Indemnités journalières : point sur mon dossier",
        "ij_suivi",
        "desk",
        30,
        24,
        60,
        "Arrêts de travail, trois derniers bulletins de salaire, attestation de salaire de l'employeur.",
    ),
    (
        "css_demande",
        "Complémentaire santé solidaire : constituer ma demande",
        "css",
        "desk",
        45,
        24,
        60,
        "Avis d'imposition, justificatifs de ressources des 12 derniers mois, RIB.",
    ),
    (
        "carte_vitale",
        "Carte Vitale : commande ou mise à jour",
        "carte_vitale",
        "desk",
        15,
        2,
        30,
        "Pièce d'identité, photo d'identité récente.",
    ),
    (
        "remboursement_rappel",
        "Remboursement de soins : être rappelé",
        "remboursement",
        "phone",
        15,
        2,
        30,
        "",
    ),
    ("ij_rappel", "Indemnités journalières : être rappelé", "ij_suivi", "phone", 15, 2, 30, ""),
    (
        "reclamation_visio",
        "Réclamation : entretien en visioconférence",
        "reclamation",
        "video",
        30,
        48,
        60,
        "Courriers reçus et décomptes concernés.",
    ),
    ("autre_accueil", "Autre demande à l'accueil", "autre", "desk", 15, 2, 30, "Pièce d'identité."),
]


# The documents of the shipped motives a person may deposit online beforehand (documents.models.DocumentType).
MOTIVE_DEPOSIT_TYPES: dict[str, list[str]] = {
    "ij_dossier": ["sick_leave_form", "salary_certificate"],
    "css_demande": ["proof_of_income", "bank_details"],
    "carte_vitale": ["identity_document"],
    "autre_accueil": ["identity_document"],
}


def load_deposit_types(model: Any = AppointmentMotive) -> None:
    """Give the shipped motives their deposit types when they have none (edited ones stay)."""
    for code, types in MOTIVE_DEPOSIT_TYPES.items():
        model.objects.filter(code=code, deposit_types=[]).update(deposit_types=types)


def load_appointment_motives(model: Any = AppointmentMotive) -> int:
    """Create the shipped motives that are missing. The model is a parameter so that the data migration can pass
    its historical model."""
    existing = set(model.objects.values_list("code", flat=True))
    model.objects.bulk_create(
        [
            model(
                code=c,
                label=label,
                contact_motive_id=m,
                mode=mode,
                duration_minutes=d,
                min_delay_hours=lo,
                max_delay_days=hi,
                documents_to_bring=docs,
            )
            for c, label, m, mode, d, lo, hi, docs in MOTIVES
            if c not in existing
        ]
    )
    if any(f.name == "deposit_types" for f in model._meta.get_fields()):
        load_deposit_types(model)
    return len(MOTIVES)


# --- the person's appointments to deposit documents for (added by the documents session, issue 6) -------------
def list_deposit_purposes(person: Person) -> list[Any]:
    """The lister of the deposit purpose "appointment" (documents app): the person's booked appointments not yet
    over whose motive asks for documents, ONE query. Listed on the person's documents page and at the kiosk,
    like their document requests and their cases' awaited documents."""
    from omniguichet.documents.services import DepositPurpose, OpenPurpose

    now = timezone.now()
    found = []
    for appointment in (
        Appointment.objects.select_related("motive")
        .filter(person_id=person.pk, status=Status.BOOKED, end__gt=now)
        .order_by("start")
    ):
        if not appointment.motive.deposit_types:
            continue
        purpose = DepositPurpose(
            label=_("Appointment of %(when)s: %(motive)s")
            % {"when": _local(appointment.start), "motive": appointment.motive.label},
            expected_types=tuple(appointment.motive.deposit_types),
            is_open=True,
            person_id=appointment.person_id,
            processing_hint=PROCESSING_BY_CONTACT_MOTIVE.get(appointment.motive.contact_motive_id, "general"),
            deadline=appointment.start,
        )
        found.append(OpenPurpose("appointment", str(appointment.pk), purpose, appointment.created_at))
    return found
