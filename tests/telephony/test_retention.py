"""The retention of calls: old calls and their lines deleted in audited batches, replays of their period refused."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import InvalidInput
from omniguichet.core.models import PartitionEvent
from omniguichet.crm.models import Contact
from omniguichet.telephony.models import Call, CallEvent
from omniguichet.telephony.services.retention import purge_old_calls, retained_from
from omniguichet.telephony.tasks import purge_expired_calls
from tests.telephony.conftest import call_lines, ingest, line, new_call_id

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test retention")


def months_ago(count: int, *, day: int = 10) -> dt.datetime:
    """Noon UTC on `day` of the month `count` months before this one."""
    now = timezone.now().astimezone(dt.UTC)
    index = now.year * 12 + now.month - 1 - count
    return dt.datetime(index // 12, index % 12 + 1, day, 12, tzinfo=dt.UTC)


def first_of(when: dt.datetime) -> dt.date:
    return dt.date(when.year, when.month, 1)


@pytest.fixture
def calls_over_a_year(paris_person, phone_agent):
    """A call 14, 13, 2 and 0 months ago (each ended, with its contact), and a held line 13 months ago."""
    made = {}
    for age in (14, 13, 2, 0):
        call_id = new_call_id()
        start = months_ago(age) if age else timezone.now() - dt.timedelta(hours=1)
        report = ingest(call_lines(call_id, start=start))
        assert report.count("stored") == 5 and report.ended == 1
        made[age] = call_id
    held = ingest([line("held-1", "answer", months_ago(13), agent="tel-paris")])
    assert held.results[0].status == "held"
    return made


def test_calls_older_than_the_asked_month_leave_with_their_lines_in_audited_batches(calls_over_a_year):
    first_kept = first_of(months_ago(12))
    contacts_before = Contact.objects.count()
    report = purge_old_calls(actor=SYSTEM, channel=Channel.BACKOFFICE, first_kept=first_kept, batch=1)
    assert (report.calls, report.events, report.batches) == (2, 11, 3)  # 2 calls x 5 lines, 1 held line
    assert set(Call.objects.values_list("call_id", flat=True)) == {calls_over_a_year[2], calls_over_a_year[0]}
    assert not CallEvent.objects.filter(
        call_id__in=[calls_over_a_year[14], calls_over_a_year[13], "held-1"]
    ).exists()
    assert CallEvent.objects.count() == 10
    # The contacts stay: they have their own retention (the months of crm_contact).
    assert Contact.objects.count() == contacts_before
    audit = list(
        PartitionEvent.objects.order_by("pk").values_list("table", "action", "rows", "month", "rule")
    )
    previous_month = first_of(months_ago(13))
    assert audit == [
        ("telephony_call", "deleted", 1, previous_month, f"older than {first_kept:%Y-%m} (asked)"),
        ("telephony_callevent", "deleted", 5, previous_month, f"older than {first_kept:%Y-%m} (asked)"),
        ("telephony_call", "deleted", 1, previous_month, f"older than {first_kept:%Y-%m} (asked)"),
        ("telephony_callevent", "deleted", 5, previous_month, f"older than {first_kept:%Y-%m} (asked)"),
        (
            "telephony_callevent",
            "deleted",
            1,
            previous_month,
            f"older than {first_kept:%Y-%m} (asked), held lines",
        ),
    ]
    # A second run finds nothing and writes no audit.
    again = purge_old_calls(actor=SYSTEM, channel=Channel.BACKOFFICE, first_kept=first_kept)
    assert (again.calls, again.events, again.batches) == (0, 0, 0)
    assert PartitionEvent.objects.count() == 5


def test_the_dry_run_counts_and_changes_nothing(calls_over_a_year):
    report = purge_old_calls(
        actor=SYSTEM, channel=Channel.BACKOFFICE, first_kept=first_of(months_ago(12)), dry_run=True
    )
    assert (report.dry_run, report.calls, report.events) == (True, 2, 11)
    assert Call.objects.count() == 4 and CallEvent.objects.count() == 21
    assert not PartitionEvent.objects.exists()


def test_the_setting_decides_and_empty_keeps_for_ever(calls_over_a_year, settings):
    settings.CALLS_RETENTION_MONTHS = ""
    kept = purge_old_calls(actor=SYSTEM, channel=Channel.BACKOFFICE)
    assert kept.first_kept is None and "kept for ever" in kept.rule and Call.objects.count() == 4
    assert retained_from() is None
    settings.CALLS_RETENTION_MONTHS = "12"
    report = purge_old_calls(actor=SYSTEM, channel=Channel.BACKOFFICE)
    assert report.first_kept == first_of(months_ago(12)) and report.calls == 2
    assert "retention of 12 months (OMNIGUICHET_CALLS_RETENTION_MONTHS)" in report.rule
    settings.CALLS_RETENTION_MONTHS = "twelve"
    with pytest.raises(Exception, match="OMNIGUICHET_CALLS_RETENTION_MONTHS"):
        purge_old_calls(actor=SYSTEM, channel=Channel.BACKOFFICE)


def test_the_current_month_is_never_deleted(calls_over_a_year):
    with pytest.raises(InvalidInput) as caught:
        purge_old_calls(actor=SYSTEM, channel=Channel.BACKOFFICE, first_kept=first_of(months_ago(-1)))
    assert "never deleted" in caught.value.fields["older_than"]
    assert Call.objects.count() == 4


def test_a_replay_of_a_period_that_left_is_refused_line_by_line(calls_over_a_year, settings):
    first_kept = first_of(months_ago(12))
    old_call = calls_over_a_year[14]
    replay = call_lines(old_call, start=months_ago(14))
    purge_old_calls(actor=SYSTEM, channel=Channel.BACKOFFICE, first_kept=first_kept)
    # The setting is empty: the audit alone keeps the period closed (the setting may have been lengthened since).
    settings.CALLS_RETENTION_MONTHS = ""
    assert retained_from() == first_kept
    contacts = Contact.objects.count()
    report = ingest([*replay, *call_lines("fresh-1")])
    assert [r.status for r in report.results] == ["error"] * 5 + ["stored"] * 5
    assert report.results[0].fields == {
        "at": f"is before {first_kept:%m/%Y}: the calls of that period have left the database (retention)"
    }
    assert (
        not Call.objects.filter(call_id=old_call).exists() and Call.objects.filter(call_id="fresh-1").exists()
    )
    assert Contact.objects.count() == contacts + 1  # the fresh call's only
    # By the setting alone, before any deletion: a line older than the retention is refused too.
    settings.CALLS_RETENTION_MONTHS = "1"
    late = ingest([line("late-1", "new", months_ago(2))])
    assert late.results[0].status == "error" and "retention" in late.results[0].fields["at"]


def test_the_task_runs_once_a_period_and_follows_the_setting(calls_over_a_year, settings):
    settings.CALLS_RETENTION_MONTHS = "12"
    assert purge_expired_calls.call() == 2
    assert purge_expired_calls.call() == 0  # the same period: another worker's run, nothing done
    assert Call.objects.count() == 2
    actors = set(PartitionEvent.objects.values_list("actor", "channel"))
    assert actors == {("calls retention", "backoffice")}


def test_the_command_dry_run_run_and_errors(calls_over_a_year, settings):
    settings.CALLS_RETENTION_MONTHS = ""
    out = io.StringIO()
    call_command("purge_calls", stdout=out)
    assert "Nothing to do" in out.getvalue() and Call.objects.count() == 4
    out = io.StringIO()
    call_command("purge_calls", "--older-than", "12", "--dry-run", stdout=out)
    assert "2 call(s) and 11 event line(s) would be deleted" in out.getvalue() and Call.objects.count() == 4
    out = io.StringIO()
    call_command("purge_calls", "--older-than", f"{first_of(months_ago(12)):%Y-%m}", stdout=out)
    assert "2 call(s) and 11 event line(s) deleted" in out.getvalue() and Call.objects.count() == 2
    with pytest.raises(CommandError, match="a number of months"):
        call_command("purge_calls", "--older-than", "soon")
    settings.CALLS_RETENTION_MONTHS = "0"
    with pytest.raises(CommandError, match="OMNIGUICHET_CALLS_RETENTION_MONTHS"):
        call_command("purge_calls")
