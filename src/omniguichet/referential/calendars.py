"""Caisses' calendars and deadlines, as pure computation (no database): public holidays of a department, opening
periods per weekday, one-off closures, and the three ways a deadline counts time (docs/deadlines.md).

Every instant handed in or out is an aware datetime; results are in UTC. Opening periods are local wall-clock times
of the caisse's time zone (Europe/Paris, Indian/Mayotte for 976), converted day by day with zoneinfo, so a change
of daylight saving time moves the UTC instants of the periods and never their local hours."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

UTC = dt.UTC
PARIS = "Europe/Paris"
# Alsace-Moselle keeps Good Friday and St Stephen's Day (local law of 1871-1918).
ALSACE_MOSELLE = frozenset({"57", "67", "68"})
# A walk through the calendar never goes further than this many days (a calendar closed for good, a typo).
MAX_DAYS = 3 * 366


class Unit(StrEnum):
    """How a deadline policy counts its duration."""

    CALENDAR_HOURS = "calendar_hours"  # elapsed time, nights, week-ends and holidays included
    WORKING_HOURS = "working_hours"  # time inside the caisse's opening periods
    WORKING_DAYS = "working_days"  # days with an opening period; due at the closing of the last one


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (the anonymous algorithm of 1876, "Meeus/Jones/Butcher")."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@functools.lru_cache(maxsize=512)
def public_holidays(year: int, department: str) -> Mapping[dt.date, str]:
    """France's public holidays of `year` for a department (code "01".."95", "2A", "2B", "976"): the 11 national
    days (Easter Monday, Ascension and Whit Monday computed from Easter), plus Good Friday and 26 December in
    Alsace-Moselle (57, 67, 68) and the abolition of slavery in Mayotte (27 April)."""
    easter = easter_sunday(year)
    days = {
        dt.date(year, 1, 1): "New Year's Day",
        easter + dt.timedelta(days=1): "Easter Monday",
        dt.date(year, 5, 1): "Labour Day",
        dt.date(year, 5, 8): "Victory in Europe Day",
        easter + dt.timedelta(days=39): "Ascension Day",
        easter + dt.timedelta(days=50): "Whit Monday",
        dt.date(year, 7, 14): "Bastille Day",
        dt.date(year, 8, 15): "Assumption Day",
        dt.date(year, 11, 1): "All Saints' Day",
        dt.date(year, 11, 11): "Armistice Day",
        dt.date(year, 12, 25): "Christmas Day",
    }
    if department in ALSACE_MOSELLE:
        days[easter - dt.timedelta(days=2)] = "Good Friday"
        days[dt.date(year, 12, 26)] = "St Stephen's Day"
    if department == "976":
        days[dt.date(year, 4, 27)] = "Abolition of slavery"
    return dict(sorted(days.items()))


Period = tuple[dt.time, dt.time]


@dataclass(frozen=True, eq=False)
class Calendar:
    """One caisse's calendar: opening periods per weekday (0 = Monday; local times, `opens` < `closes`), its
    department's public holidays, its one-off closures and its time zone.

    A calendar without any opening period counts working hours as calendar hours and working days as periods of
    24 hours (it never loops for ever)."""

    department: str
    periods: Mapping[int, tuple[Period, ...]]
    closures: frozenset[dt.date] = frozenset()
    tz_name: str = PARIS
    _days: dict[dt.date, tuple[tuple[dt.datetime, dt.datetime], ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        *,
        department: str,
        periods: Iterable[tuple[int, dt.time, dt.time]],
        closures: Iterable[dt.date] = (),
        tz_name: str = PARIS,
    ) -> Calendar:
        by_day: dict[int, list[Period]] = {}
        for weekday, opens, closes in periods:
            if opens < closes:
                by_day.setdefault(weekday, []).append((opens, closes))
        merged: dict[int, tuple[Period, ...]] = {}
        for weekday, rows in by_day.items():
            out: list[Period] = []
            for opens, closes in sorted(rows):
                if out and opens <= out[-1][1]:  # overlapping or touching periods count once
                    out[-1] = (out[-1][0], max(out[-1][1], closes))
                else:
                    out.append((opens, closes))
            merged[weekday] = tuple(out)
        return cls(department=department, periods=merged, closures=frozenset(closures), tz_name=tz_name)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def always_open(self) -> bool:
        return not any(self.periods.values())

    def is_closed_day(self, day: dt.date) -> bool:
        """A public holiday of the department or a one-off closure of the caisse."""
        return day in self.closures or day in public_holidays(day.year, self.department)

    def intervals(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The opening periods of a local day as UTC instants, in order (none on a holiday or a closure)."""
        found = self._days.get(day)
        if found is not None:
            return found
        out: list[tuple[dt.datetime, dt.datetime]] = []
        if not self.is_closed_day(day):
            tz = self.tz
            for opens, closes in self.periods.get(day.weekday(), ()):
                start = dt.datetime.combine(day, opens, tzinfo=tz).astimezone(UTC)
                end = dt.datetime.combine(day, closes, tzinfo=tz).astimezone(UTC)
                if start < end:
                    out.append((start, end))
        if len(self._days) > 20_000:  # bounded: a long-running process walks ever new days
            self._days.clear()
        self._days[day] = found = tuple(out)
        return found

    def local_day(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.tz).date()

    def add_working_time(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant when `seconds` of opening time have passed since `start`. With `seconds` > 0 it always
        falls inside an opening period (its end included); with 0 it is the next open instant."""
        start = start.astimezone(UTC)
        if self.always_open:
            return start + dt.timedelta(seconds=seconds)
        remaining = dt.timedelta(seconds=seconds)
        day = self.local_day(start)
        for _ in range(MAX_DAYS):
            for opens, closes in self.intervals(day):
                if closes <= start:
                    continue
                opens = max(opens, start)
                available = closes - opens
                if remaining <= available:
                    return opens + remaining
                remaining -= available
            day += dt.timedelta(days=1)
        raise ValueError("the calendar has no opening period within three years")

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Opening time between two instants."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return dt.timedelta(0)
        if self.always_open:
            return end - start
        total = dt.timedelta(0)
        day, last = self.local_day(start), self.local_day(end)
        while day <= last:
            for opens, closes in self.intervals(day):
                lo, hi = max(opens, start), min(closes, end)
                if lo < hi:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The closing time of the `days`-th working day after the local day of `start` (that day never counts,
        whether or not it is a working day)."""
        start = start.astimezone(UTC)
        if self.always_open:
            return start + dt.timedelta(days=days)
        day, counted = self.local_day(start), 0
        for _ in range(MAX_DAYS):
            day += dt.timedelta(days=1)
            periods = self.intervals(day)
            if periods:
                counted += 1
                if counted >= days:
                    return periods[-1][1]
        raise ValueError("the calendar has no opening period within three years")

    def deadline(self, received_at: dt.datetime, duration: int, unit: str) -> dt.datetime:
        """When an item received at `received_at` is due, for a duration counted in `unit` (UTC)."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be an aware datetime")
        if duration < 0:
            raise ValueError("a duration is never negative")
        if unit == Unit.CALENDAR_HOURS:
            return received_at.astimezone(UTC) + dt.timedelta(hours=duration)
        if unit == Unit.WORKING_HOURS:
            return self.add_working_time(received_at, duration * 3600)
        if unit == Unit.WORKING_DAYS:
            return self.add_working_days(received_at, duration) if duration else received_at.astimezone(UTC)
        raise ValueError(f"unknown unit {unit!r}")

    def due_soon(
        self, received_at: dt.datetime, deadline: dt.datetime, unit: str, share: float
    ) -> dt.datetime:
        """The instant when `share` of the time between receipt and deadline has passed, counted the policy's
        way: elapsed time for calendar hours, opening time for working hours and days."""
        received_at = received_at.astimezone(UTC)
        if deadline <= received_at:
            return deadline
        if unit == Unit.CALENDAR_HOURS or self.always_open:
            return received_at + (deadline - received_at) * share
        working = self.working_time_between(received_at, deadline)
        return min(self.add_working_time(received_at, working.total_seconds() * share), deadline)


# --- the calendars of this process ------------------------------------------------------------------------------
# One Calendar per caisse, built from its rows on first use (referential.services.caisse_calendar). A save or a
# deletion of a caisse, an opening period or a closure forgets that caisse's calendar in the process that made it
# (signals connected in ReferentialConfig.ready); other processes rebuild theirs after CACHE_SECONDS.
CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, Calendar]] = {}


def cached(code: str, now: float) -> Calendar | None:
    found = _cache.get(code)
    if found is None or now - found[0] > CACHE_SECONDS:
        return None
    return found[1]


def remember(code: str, calendar: Calendar, now: float) -> None:
    _cache[code] = (now, calendar)


def forget(code: str | None = None) -> None:
    """Forget one caisse's calendar, or every one."""
    if code is None:
        _cache.clear()
    else:
        _cache.pop(code, None)
