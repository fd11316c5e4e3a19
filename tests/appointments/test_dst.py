"""Slots are wall-clock times in Europe/Paris, whatever the UTC offset of the day."""

import datetime as dt

import pytest

from omniguichet.appointments import services
from omniguichet.appointments.models import AppointmentMotive
from omniguichet.appointments.services import PARIS, Schedule, local_datetime
from omniguichet.core.actors import Channel
from tests.appointments.conftest import make_site


def _last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 31)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def test_local_times_on_transition_nights():
    spring, autumn = _last_sunday(2026, 3), _last_sunday(2026, 10)
    assert local_datetime(spring, dt.time(2, 30)) is None  # skipped hour
    assert local_datetime(spring, dt.time(3, 0)).utcoffset() == dt.timedelta(hours=2)
    assert local_datetime(spring, dt.time(1, 59)).utcoffset() == dt.timedelta(hours=1)
    repeated = local_datetime(autumn, dt.time(2, 30))
    assert repeated is not None and repeated.utcoffset() == dt.timedelta(hours=2)  # first occurrence


def test_a_night_site_skips_the_missing_hour_and_keeps_durations_absolute(caisse_paris, agent_paris):
    spring = _last_sunday(2027, 3)
    site = make_site(caisse_paris, [agent_paris], weekdays=[6], hours=[(dt.time(1, 0), dt.time(4, 0))])
    schedule = Schedule([site.pk], spring, spring)
    starts = [
        s.astimezone(PARIS) for s, _ts, _a in schedule.day_slots(site.pk, spring, dt.timedelta(minutes=30))
    ]
    wall = [f"{s:%H:%M}" for s in starts]
    assert "02:00" not in wall and "02:30" not in wall
    assert wall[0] == "01:00" and wall[-1] == "03:30" and "01:45" in wall
    # 01:45 CET + 30 min = 03:15 CEST: fits before 04:00.
    assert all(s + dt.timedelta(minutes=30) <= local_datetime(spring, dt.time(4, 0)) for s in starts)
    autumn = _last_sunday(2027, 10)
    autumn_wall = [
        f"{s.astimezone(PARIS):%H:%M}"
        for s, _ts, _a in schedule.day_slots(site.pk, autumn, dt.timedelta(minutes=15))
    ]
    assert len(autumn_wall) == len(set(autumn_wall))  # the repeated hour is not offered twice


def test_opening_hours_keep_their_wall_clock_across_the_change(caisse_paris, agent_paris, make_person):
    """9:00 in Paris is 08:00 UTC the Friday before the spring change and 07:00 UTC the Monday after."""
    site = make_site(caisse_paris, [agent_paris])
    motive = AppointmentMotive.objects.get(pk="ij_dossier")
    motive.max_delay_days = 800
    motive.save()
    spring = _last_sunday(2027, 3)
    friday, monday = spring - dt.timedelta(days=2), spring + dt.timedelta(days=1)
    from omniguichet.core.actors import Actor

    slots = services.find_free_slots(
        actor=Actor.agent(agent_paris), channel=Channel.PHONE, motive=motive.pk, site_id=site.pk,
        date_from=friday, date_to=monday, limit=200,
    )  # fmt: skip
    first_by_day = {}
    for s in slots:
        first_by_day.setdefault(s.start.astimezone(PARIS).date(), s.start)
    assert set(first_by_day) == {friday, monday}  # closed on the week-end
    assert first_by_day[friday].astimezone(dt.UTC).time() == dt.time(7, 30)  # 08:30 CET
    assert first_by_day[monday].astimezone(dt.UTC).time() == dt.time(6, 30)  # 08:30 CEST
    # And it books at that wall-clock time.
    person = make_person()
    appointment = services.book(actor=Actor.agent(agent_paris), channel=Channel.PHONE, person_id=person.pk,
                                site_id=site.pk, motive=motive.pk, start=first_by_day[monday])  # fmt: skip
    assert f"{appointment.start.astimezone(PARIS):%H:%M}" == "08:30"


@pytest.mark.parametrize("hour", [8, 12, 17])
def test_off_hours_starts_not_offered(caisse_paris, agent_paris, hour):
    site = make_site(caisse_paris, [agent_paris])
    day = dt.date(2027, 4, 5)  # a Monday
    schedule = Schedule([site.pk], day, day)
    starts = {
        s.astimezone(PARIS).time()
        for s, _ts, _a in schedule.day_slots(site.pk, day, dt.timedelta(minutes=15))
    }
    assert dt.time(hour, 15) not in starts
