"""The schedule of a set of sites: weekly patterns, free slots, the search of free slots."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    AgentAvailability,
    Appointment,
    AppointmentMotive,
    OpeningHours,
    Site,
    SiteClosure,
)
from omniguichet.appointments.services.common import (
    DEFAULT_SLOTS,
    MAX_DURATION,
    MAX_SEARCH_DAYS,
    MAX_SLOTS,
    PARIS,
    WeeklyPattern,
    _active_sites,
    _boundary,
    _caisse_of,
    _from_epoch,
    _minutes,
    _motive,
    _person_for,
    _search_cached,
    _site,
    _time,
    local_datetime,
)
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import InvalidInput


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


# How long a slot offered by the search stays bookable as far as the minimum delay is concerned.
OFFER_HOLD = dt.timedelta(minutes=5)


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
    # A slot offered stays bookable for OFFER_HOLD: one right at the minimum delay would be refused (422) by the
    # booking that follows it seconds later, the minimum delay having moved on meanwhile.
    earliest_ts, latest_ts = int((earliest + OFFER_HOLD).timestamp()), int(latest.timestamp())
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
