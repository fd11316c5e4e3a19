"""The caisses' calendars (issue 17, section 5; docs/deadlines.md): public holidays, opening periods, working
hours and days across a week-end, a public holiday and the changes of daylight saving time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniguichet.referential import calendars
from omniguichet.referential.calendars import Calendar, Unit, easter_sunday, public_holidays
from omniguichet.referential.models import Caisse, Closure, OpeningPeriod
from omniguichet.referential.services import caisse_calendar
from tests.conftest import make_user

PARIS = ZoneInfo("Europe/Paris")
T = dt.time
OFFICE = [(d, T(8, 30), T(12)) for d in range(5)] + [(d, T(13, 30), T(17)) for d in range(5)]


def office(department: str = "75", **kwargs) -> Calendar:
    return Calendar.build(department=department, periods=OFFICE, **kwargs)


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_calendars():
    """Calendars are cached per process: a test's rows, rolled back, must not leak into the next test."""
    calendars.forget()
    yield
    calendars.forget()


# --- public holidays ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "year, easter",
    [(2024, (3, 31)), (2025, (4, 20)), (2026, (4, 5)), (2027, (3, 28)), (2038, (4, 25)), (2285, (3, 22))],
)
def test_easter_is_computed_for_any_year(year, easter):
    assert easter_sunday(year) == dt.date(year, *easter)


def test_national_holidays_of_2026():
    days = public_holidays(2026, "75")
    assert len(days) == 11
    assert days[dt.date(2026, 4, 6)] == "Easter Monday"
    assert days[dt.date(2026, 5, 14)] == "Ascension Day"
    assert days[dt.date(2026, 5, 25)] == "Whit Monday"
    assert dt.date(2026, 7, 14) in days and dt.date(2026, 4, 3) not in days


@pytest.mark.parametrize("department", ["57", "67", "68"])
def test_alsace_moselle_keeps_good_friday_and_st_stephen(department):
    days = public_holidays(2026, department)
    assert len(days) == 13
    assert days[dt.date(2026, 4, 3)] == "Good Friday" and dt.date(2026, 12, 26) in days


def test_mayotte_keeps_the_abolition_of_slavery():
    assert dt.date(2026, 4, 27) in public_holidays(2026, "976")
    assert dt.date(2026, 4, 27) not in public_holidays(2026, "75")


# --- working hours and days ---------------------------------------------------------------------------------------
def test_several_periods_a_day_lunch_break_is_skipped():
    # 10 minutes before noon, 50 after 13:30.
    assert office().deadline(paris(2026, 12, 2, 11, 50), 1, Unit.WORKING_HOURS) == paris(2026, 12, 2, 14, 20)


def test_across_a_weekend():
    friday = paris(2026, 12, 4, 16, 0)
    cal = office()
    assert cal.deadline(friday, 2, Unit.WORKING_HOURS) == paris(2026, 12, 7, 9, 30)
    assert cal.deadline(friday, 2, Unit.WORKING_DAYS) == paris(2026, 12, 8, 17, 0)
    assert cal.deadline(friday, 48, Unit.CALENDAR_HOURS) == paris(2026, 12, 6, 16, 0)
    # A week of opening (35 hours) from Friday 16:00: Friday 17:00 next week.
    assert cal.deadline(friday, 35, Unit.WORKING_HOURS) == paris(2026, 12, 11, 16, 0)


def test_across_a_public_holiday():
    cal = office()
    # 14 July 2026 is a Tuesday.
    assert cal.deadline(paris(2026, 7, 13, 16, 0), 2, Unit.WORKING_HOURS) == paris(2026, 7, 15, 9, 30)
    assert cal.deadline(paris(2026, 7, 13, 16, 0), 1, Unit.WORKING_DAYS) == paris(2026, 7, 15, 17, 0)
    # Easter Monday (6 April 2026), computed: Friday 16:00 + 2 working hours is Tuesday 09:30.
    assert cal.deadline(paris(2026, 4, 3, 16, 0), 2, Unit.WORKING_HOURS) == paris(2026, 4, 7, 9, 30)


def test_good_friday_closes_strasbourg_but_not_paris():
    thursday = paris(2026, 4, 2, 16, 0)
    assert office("75").deadline(thursday, 2, Unit.WORKING_HOURS) == paris(2026, 4, 3, 9, 30)
    assert office("67").deadline(thursday, 2, Unit.WORKING_HOURS) == paris(2026, 4, 7, 9, 30)


def test_received_outside_opening_hours():
    cal = office()
    assert cal.deadline(paris(2026, 12, 2, 7, 0), 1, Unit.WORKING_HOURS) == paris(2026, 12, 2, 9, 30)
    assert cal.deadline(paris(2026, 12, 2, 12, 30), 1, Unit.WORKING_HOURS) == paris(2026, 12, 2, 14, 30)
    assert cal.deadline(paris(2026, 12, 2, 18, 0), 1, Unit.WORKING_HOURS) == paris(2026, 12, 3, 9, 30)
    assert cal.deadline(paris(2026, 12, 5, 10, 0), 1, Unit.WORKING_HOURS) == paris(2026, 12, 7, 9, 30)


def test_received_on_a_holiday():
    cal = office()
    assert cal.deadline(paris(2026, 7, 14, 10, 0), 1, Unit.WORKING_HOURS) == paris(2026, 7, 15, 9, 30)
    assert cal.deadline(paris(2026, 7, 14, 10, 0), 1, Unit.WORKING_DAYS) == paris(2026, 7, 15, 17, 0)


def test_a_one_off_closure():
    cal = office(closures=[dt.date(2026, 12, 3)])
    assert cal.deadline(paris(2026, 12, 2, 16, 30), 1, Unit.WORKING_HOURS) == paris(2026, 12, 4, 9, 0)


# --- daylight saving time -----------------------------------------------------------------------------------------
def test_working_hours_across_the_change_to_summer_time():
    # Friday 27 March 2026 16:00 CET (15:00 UTC); clocks go forward on Sunday 29 March.
    got = office().deadline(paris(2026, 3, 27, 16, 0), 2, Unit.WORKING_HOURS)
    assert got == utc(2026, 3, 30, 7, 30)  # Monday 09:30 CEST, UTC+2
    assert got.astimezone(PARIS).utcoffset() == dt.timedelta(hours=2)


def test_working_hours_across_the_change_to_winter_time():
    # Friday 23 October 2026 16:00 CEST (14:00 UTC); clocks go back on Sunday 25 October.
    got = office().deadline(paris(2026, 10, 23, 16, 0), 2, Unit.WORKING_HOURS)
    assert got == utc(2026, 10, 26, 8, 30)  # Monday 09:30 CET, UTC+1


def test_calendar_hours_are_elapsed_time_across_both_changes():
    # 48 real hours: the local clock shows 49 in March (an hour skipped) and 47 in October (an hour repeated).
    march = office().deadline(paris(2026, 3, 28, 12, 0), 48, Unit.CALENDAR_HOURS)
    assert march == utc(2026, 3, 30, 11, 0) and march.astimezone(PARIS).hour == 13
    october = office().deadline(paris(2026, 10, 24, 12, 0), 48, Unit.CALENDAR_HOURS)
    assert october == utc(2026, 10, 26, 10, 0) and october.astimezone(PARIS).hour == 11


def test_a_period_through_the_night_of_the_change_counts_real_time():
    # A (made-up) Sunday night opening 00:00-06:00: 5 real hours in March, 7 in October.
    cal = Calendar.build(department="75", periods=[(6, T(0), T(6))])
    march, october = dt.date(2026, 3, 29), dt.date(2026, 10, 25)
    day = dt.timedelta(days=1)
    assert cal.working_time_between(paris(2026, 3, 29), paris(2026, 3, 29) + day) == dt.timedelta(hours=5)
    assert cal.working_time_between(paris(2026, 10, 25), paris(2026, 10, 25) + day) == dt.timedelta(hours=7)
    assert cal.deadline(paris(2026, 3, 28, 12, 0), 6, Unit.WORKING_HOURS) == utc(2026, 4, 4, 23, 0)
    assert cal.intervals(march)[0][1] - cal.intervals(march)[0][0] == dt.timedelta(hours=5)
    assert cal.intervals(october)[0][1] - cal.intervals(october)[0][0] == dt.timedelta(hours=7)


def test_due_soon_is_at_80_percent_of_the_counted_time():
    cal = office()
    received = paris(2026, 12, 4, 16, 0)  # Friday
    # 1 hour on Friday, 7 on Monday, 2 on Tuesday; 80 % of 10 working hours is Monday's closing.
    deadline = cal.deadline(received, 10, Unit.WORKING_HOURS)
    assert deadline == paris(2026, 12, 8, 10, 30)
    assert cal.due_soon(received, deadline, Unit.WORKING_HOURS, 0.8) == paris(2026, 12, 7, 17, 0)
    calendar = cal.deadline(received, 48, Unit.CALENDAR_HOURS)
    assert cal.due_soon(received, calendar, Unit.CALENDAR_HOURS, 0.8) == received + dt.timedelta(hours=38.4)


def test_a_calendar_without_opening_counts_calendar_time():
    cal = Calendar.build(department="75", periods=[])
    received = paris(2026, 12, 4, 16, 0)
    assert cal.deadline(received, 5, Unit.WORKING_HOURS) == received + dt.timedelta(hours=5)
    assert cal.deadline(received, 2, Unit.WORKING_DAYS) == received + dt.timedelta(days=2)


def test_naive_and_negative_are_refused():
    with pytest.raises(ValueError):
        office().deadline(dt.datetime(2026, 12, 4, 10), 1, Unit.WORKING_HOURS)
    with pytest.raises(ValueError):
        office().deadline(paris(2026, 12, 4, 10), -1, Unit.WORKING_HOURS)


# --- properties ---------------------------------------------------------------------------------------------------
ODD = [*OFFICE, (5, T(9), T(12)), (6, T(1, 30), T(3, 30)), (2, T(0), T(0, 15)), (2, T(23, 45), T(23, 59))]
CALENDARS = [
    office("75"),
    office("67", closures=[dt.date(2027, 1, 4)]),
    Calendar.build(department="976", periods=OFFICE, tz_name="Indian/Mayotte"),
    Calendar.build(department="57", periods=ODD),
]
instants = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    received=instants,
    duration=st.integers(min_value=0, max_value=400),
    unit=st.sampled_from(list(Unit)),
    which=st.integers(min_value=0, max_value=len(CALENDARS) - 1),
)
def test_deadlines_never_precede_receipt_grow_with_duration_and_fall_in_opening(
    received, duration, unit, which
):
    cal = CALENDARS[which]
    got = cal.deadline(received, duration, unit)
    assert got >= received and got.tzinfo is not None and got.utcoffset() == dt.timedelta(0)
    assert cal.deadline(received, duration + 1, unit) >= got
    if unit != Unit.CALENDAR_HOURS and duration > 0:
        periods = cal.intervals(cal.local_day(got))
        assert any(opens < got <= closes for opens, closes in periods), (got, periods)
    if unit == Unit.WORKING_HOURS:
        assert cal.working_time_between(received, got) == dt.timedelta(hours=duration)
    soon = cal.due_soon(received, got, unit, 0.8)
    assert received <= soon <= got


# --- the rows and the admin ---------------------------------------------------------------------------------------
def test_every_caisse_has_default_opening_hours(db):
    assert Caisse.objects.count() == 101
    assert OpeningPeriod.objects.count() == 101 * 10
    assert Caisse.objects.get(code="976").time_zone == "Indian/Mayotte"
    cal = caisse_calendar("671")
    assert cal.department == "67" and cal.periods[0] == ((T(8, 30), T(12)), (T(13, 30), T(17)))
    assert cal.is_closed_day(dt.date(2026, 4, 3)) and not caisse_calendar("751").is_closed_day(
        dt.date(2026, 4, 3)
    )


def test_a_calendar_is_cached_and_forgotten_when_its_rows_change(db, django_assert_num_queries):
    caisse_calendar("751")
    with django_assert_num_queries(0):
        cal = caisse_calendar("751")
    assert not cal.is_closed_day(dt.date(2026, 12, 24))
    Closure.objects.create(caisse_id="751", date=dt.date(2026, 12, 24), label="Christmas Eve")
    assert caisse_calendar("751").is_closed_day(dt.date(2026, 12, 24))
    OpeningPeriod.objects.filter(caisse_id="751", weekday=5).delete()
    OpeningPeriod.objects.create(caisse_id="751", weekday=5, opens=T(9), closes=T(12))
    assert caisse_calendar("751").periods[5] == ((T(9), T(12)),)


def test_a_caisse_without_rows_gets_the_default_hours(db):
    OpeningPeriod.objects.filter(caisse_id="011").delete()
    assert caisse_calendar("011").periods[4] == ((T(8, 30), T(12)), (T(13, 30), T(17)))


def test_a_period_must_close_after_it_opens(db):
    with pytest.raises(Exception, match="closes"):
        OpeningPeriod(caisse_id="751", weekday=0, opens=T(12), closes=T(9)).full_clean()


@pytest.fixture
def admin_client_(db):
    user = make_user("admin-calendars", role="")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_refuses_overlapping_periods(admin_client_):
    response = admin_client_.post(
        "/admin/referential/openingperiod/add/",
        {"caisse": "751", "weekday": "0", "opens": "11:00", "closes": "14:00"},
    )
    assert response.status_code == 200
    assert "opens" in response.context["adminform"].form.errors
    response = admin_client_.post(
        "/admin/referential/openingperiod/add/",
        {"caisse": "751", "weekday": "5", "opens": "09:00", "closes": "12:00"},
    )
    assert response.status_code == 302
    assert OpeningPeriod.objects.filter(caisse_id="751", weekday=5).count() == 1


def test_the_caisse_page_edits_its_periods_and_closures(admin_client_):
    page = admin_client_.get("/admin/referential/caisse/751/change/")
    assert page.status_code == 200
    assert b"opening_periods-TOTAL_FORMS" in page.content and b"closures-TOTAL_FORMS" in page.content


def _change_form_data(response) -> dict[str, str]:
    """The caisse's change form as the browser would post it back (fields and inline rows, initial values)."""
    data: dict[str, str] = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = "" if value is None else str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": str(v) for k, v in formset.management_form.initial.items()})
        for sub in formset.forms:
            for name in sub.fields:
                value = sub.instance.pk if name == "id" else sub.initial.get(name)
                if hasattr(value, "strftime") and not hasattr(value, "year"):
                    value = value.strftime("%H:%M")
                data[sub.add_prefix(name)] = "" if value is None else str(getattr(value, "pk", value))
    return data


def test_the_caisse_page_refuses_overlapping_periods_of_one_day(admin_client_):
    page = admin_client_.get("/admin/referential/caisse/751/change/")
    data = _change_form_data(page)
    assert data["opening_periods-TOTAL_FORMS"] == "10"
    # Monday's morning now runs into the afternoon.
    monday_morning = next(
        k[: -len("-opens")] for k, v in data.items() if k.endswith("-opens") and v == "08:30"
    )
    data[f"{monday_morning}-closes"] = "14:00"
    refused = admin_client_.post("/admin/referential/caisse/751/change/", data)
    assert refused.status_code == 200
    assert "overlaps" in str(refused.context["inline_admin_formsets"][0].formset.non_form_errors())
    data[f"{monday_morning}-closes"] = "12:30"
    accepted = admin_client_.post("/admin/referential/caisse/751/change/", data)
    assert accepted.status_code == 302
    assert OpeningPeriod.objects.filter(caisse_id="751", closes=T(12, 30)).count() == 1
