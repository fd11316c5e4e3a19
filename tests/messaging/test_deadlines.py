"""Deadline policies and the threads' clock on the caisses' calendars (issue 17, section 5; docs/deadlines.md):
the most specific policy wins, the admin validates policies, a thread's deadline and "due soon" instant follow its
policy, and a change of policy re-times the waiting threads only, in batches."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import omniguichet.crm.services.deadlines as deadline_services
from omniguichet.core.actors import Actor
from omniguichet.crm import services as crm
from omniguichet.crm.models import DeadlinePolicy, Motive
from omniguichet.messaging import services
from omniguichet.messaging.models import Thread, ThreadOutcome, ThreadStatus
from omniguichet.messaging.services.deadlines import retime_threads
from omniguichet.referential import calendars
from tests.conftest import make_user

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Policies and calendars are cached per process: a test's rows, rolled back, must not leak."""
    calendars.forget()
    crm.forget_policies()
    yield
    calendars.forget()
    crm.forget_policies()


@pytest.fixture
def synchronous_retime(monkeypatch):
    """Re-time right after the commit, in this process, instead of enqueuing the task."""
    monkeypatch.setattr(deadline_services, "_retime_scheduler", [])


def write(actor, **kwargs):
    kwargs.setdefault("channel", "web")
    kwargs.setdefault("body", "Bonjour, je n'ai pas reçu mon remboursement du 3 novembre.")
    if "thread_id" not in kwargs:
        kwargs.setdefault("motive", "remboursement")
    return services.write_message(actor=actor, **kwargs)


# --- policies -----------------------------------------------------------------------------------------------------
def test_default_policies_are_seeded(db):
    seeded = {(p.kind, p.motive_id): (p.duration, p.unit) for p in DeadlinePolicy.objects.all()}
    assert seeded == {
        ("message", None): (48, "calendar_hours"),
        ("email", None): (48, "calendar_hours"),
        ("document", None): (240, "calendar_hours"),
    }


def test_the_most_specific_policy_wins(db):
    DeadlinePolicy.objects.create(
        kind="message", motive_id="remboursement", duration=16, unit="working_hours"
    )
    assert crm.policy_for(kind="message", motive="remboursement").unit == "working_hours"
    assert crm.policy_for(kind="message", motive="attestation_droits").duration == 48
    assert crm.policy_for(kind="message").duration == 48
    # A kind without any policy: the 48 hours the e-mail indicator counts.
    assert (crm.policy_for(kind="returned_letter").duration, crm.policy_for(kind="returned_letter").unit) == (
        48, "calendar_hours",
    )  # fmt: skip
    received = paris(2026, 12, 4, 16, 0)  # a Friday
    assert crm.deadline_for(
        kind="message", motive="remboursement", caisse="751", received_at=received
    ) == paris(2026, 12, 9, 9, 30)  # 1 + 7 + 7 + 1 working hours
    assert crm.deadline_for(
        kind="message", motive=Motive.objects.get(pk="attestation_droits"), caisse="751", received_at=received
    ) == received + dt.timedelta(hours=48)


def test_due_soon_at_is_80_percent_of_the_time(db):
    received = paris(2026, 12, 2, 10, 0)
    assert crm.due_soon_at(kind="message", caisse="751", received_at=received) == received + dt.timedelta(
        hours=38.4
    )


def test_a_policy_is_validated(db):
    with pytest.raises(ValidationError) as refused:
        DeadlinePolicy(kind="Mes sages", duration=0, unit="fortnights").full_clean()
    assert set(refused.value.message_dict) == {"kind", "duration", "unit"}
    with pytest.raises(ValidationError) as refused:
        DeadlinePolicy(kind="message", duration=300, unit="working_days").full_clean()
    assert "duration" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        DeadlinePolicy(kind="message", duration=24, unit="calendar_hours").full_clean()
    assert "kind" in refused.value.message_dict  # already one for every motive of the kind
    DeadlinePolicy(kind="returned_letter", duration=5, unit="working_days").full_clean()


@pytest.fixture
def admin_client_(db):
    user = make_user("admin-deadlines", role="")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_refuses_a_negative_duration_naming_the_field(admin_client_):
    response = admin_client_.post(
        "/admin/crm/deadlinepolicy/add/",
        {"kind": "email", "motive": "remboursement", "duration": "-5", "unit": "working_hours"},
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["duration"]
    assert not DeadlinePolicy.objects.filter(motive_id="remboursement").exists()


def test_a_policy_saved_in_the_admin_enqueues_the_retiming_once_committed(
    admin_client_, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            "/admin/crm/deadlinepolicy/add/",
            {"kind": "message", "motive": "remboursement", "duration": "16", "unit": "working_hours"},
        )
    assert response.status_code == 302
    queued = DBTaskResult.objects.filter(task_path="omniguichet.crm.tasks.retime_open_items")
    assert [(task.args_kwargs["args"]) for task in queued] == [["message", "remboursement"]]


# --- threads ------------------------------------------------------------------------------------------------------
def test_a_thread_gets_its_policy_deadline_on_its_caisse_calendar(insured_actor, synchronous_retime):
    DeadlinePolicy.objects.create(kind="message", motive_id="remboursement", duration=2, unit="working_days")
    thread = write(insured_actor).thread
    local = thread.waiting_since.astimezone(PARIS)
    assert thread.deadline.astimezone(PARIS).time() == dt.time(17, 0)
    assert thread.deadline.astimezone(PARIS).date() > local.date()
    assert thread.waiting_since < thread.due_soon_at < thread.deadline
    other = write(insured_actor, motive="attestation_droits").thread
    assert other.deadline - other.waiting_since == dt.timedelta(hours=48)


def test_the_queue_counts_due_soon_from_each_thread(insured_actor, agent_paris):
    agent = Actor.agent(agent_paris)
    first = write(insured_actor).thread
    second = write(insured_actor, motive="attestation_droits").thread
    now = timezone.now()
    Thread.objects.filter(pk=first.pk).update(due_soon_at=now - dt.timedelta(minutes=1))
    counts = services.queue_counts(actor=agent, now=now)
    assert (counts.waiting, counts.due_soon, counts.overdue) == (2, 1, 0)
    Thread.objects.filter(pk=second.pk).update(deadline=now - dt.timedelta(minutes=1))
    counts = services.queue_counts(actor=agent, now=now)
    assert (counts.waiting, counts.due_soon, counts.overdue) == (2, 1, 1)
    services.answer_thread(actor=agent, channel="web", thread_id=first.pk, body="Voici la réponse.")
    first.refresh_from_db()
    assert (first.deadline, first.due_soon_at) == (None, None)


# --- re-timing ----------------------------------------------------------------------------------------------------
def seed_threads(person, *, waiting: int, motive: str = "remboursement", since: dt.datetime) -> list[Thread]:
    rows = [
        Thread(
            person=person, caisse_id=person.caisse_id, motive_id=motive, subject="s", status=ThreadStatus.WAITING,
            opened_at=since, last_message_at=since, waiting_since=since + dt.timedelta(minutes=i),
            deadline=since + dt.timedelta(hours=48), due_soon_at=since + dt.timedelta(hours=38),
        )
        for i in range(waiting)
    ]  # fmt: skip
    return Thread.objects.bulk_create(rows)


def test_a_policy_change_retimes_the_waiting_threads_only(
    insured, synchronous_retime, django_capture_on_commit_callbacks
):
    person, _user = insured
    since = paris(2026, 12, 4, 16, 0)  # a Friday
    seed_threads(person, waiting=3, since=since)
    other_motive = seed_threads(person, waiting=2, motive="attestation_droits", since=since)
    answered, closed = seed_threads(person, waiting=2, since=since)
    Thread.objects.filter(pk=answered.pk).update(
        status=ThreadStatus.ANSWERED, deadline=None, due_soon_at=None
    )
    Thread.objects.filter(pk=closed.pk).update(
        status=ThreadStatus.CLOSED,
        outcome=ThreadOutcome.RESOLVED,
        closed_at=since,
        deadline=None,
        due_soon_at=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        DeadlinePolicy.objects.create(
            kind="message", motive_id="remboursement", duration=2, unit="working_hours"
        )
    retimed = Thread.objects.filter(motive_id="remboursement", status=ThreadStatus.WAITING).order_by("pk")
    assert [t.deadline for t in retimed] == [
        paris(2026, 12, 7, 9, 30) + dt.timedelta(minutes=i) for i in range(3)
    ]  # Monday 09:30
    assert all(t.waiting_since < t.due_soon_at < t.deadline for t in retimed)
    # Another motive, and threads not waiting, are left alone.
    assert {t.deadline for t in Thread.objects.filter(pk__in=[t.pk for t in other_motive])} == {
        since + dt.timedelta(hours=48)
    }
    assert (
        Thread.objects.filter(pk__in=[answered.pk, closed.pk], deadline=None, due_soon_at=None).count() == 2
    )

    # The kind-wide policy changing re-times every motive without a policy of its own, not "remboursement".
    with django_capture_on_commit_callbacks(execute=True):
        DeadlinePolicy.objects.filter(kind="message", motive=None).update(duration=24)  # no signal: bulk
        crm.policy_changed(kind="message", motive=None)
    assert {t.deadline for t in Thread.objects.filter(pk__in=[t.pk for t in other_motive])} == {
        since + dt.timedelta(hours=24),
        since + dt.timedelta(hours=24, minutes=1),
    }
    assert Thread.objects.filter(motive_id="remboursement", deadline=paris(2026, 12, 7, 9, 30)).count() == 1


def test_retiming_goes_in_batches_with_a_few_queries_each(insured, django_assert_max_num_queries):
    person, _user = insured
    seed_threads(person, waiting=25, since=paris(2026, 12, 4, 16, 0))
    DeadlinePolicy.objects.filter(kind="message", motive=None).update(duration=1, unit="working_days")
    crm.forget_policies()
    # 3 batches of 10: each a savepoint, a SELECT, one UPDATE (executemany on SQLite), the work items' SELECT
    # and UPDATE, and its release; the empty 4th batch; the policies (1 query) and the caisse's calendar (3) once.
    with django_assert_max_num_queries(3 * 6 + 3 + 1 + 3):
        assert retime_threads(batch=10) == 25
    assert set(Thread.objects.values_list("deadline", flat=True)) == {paris(2026, 12, 7, 17, 0)}
    # Twice the rows in one batch: no more queries (none per row).
    seed_threads(person, waiting=25, since=paris(2026, 12, 4, 16, 0))
    with django_assert_max_num_queries(6 + 3 + 3):
        assert retime_threads(batch=100) == 50


def test_the_retime_command(insured):
    from io import StringIO

    from django.core.management import CommandError, call_command

    person, _user = insured
    seed_threads(person, waiting=3, since=paris(2026, 12, 4, 16, 0))
    DeadlinePolicy.objects.filter(kind="message", motive=None).update(duration=1, unit="working_hours")
    out = StringIO()
    call_command("retime", "--kind", "message", "--batch", "2", stdout=out)
    assert out.getvalue().startswith("3 open message items re-timed")
    assert sorted(Thread.objects.values_list("deadline", flat=True)) == [
        paris(2026, 12, 4, 17, 0), paris(2026, 12, 7, 8, 31), paris(2026, 12, 7, 8, 32),
    ]  # fmt: skip
    with pytest.raises(CommandError, match="--kind"):
        call_command("retime", "--kind", "Messages")


def test_the_worker_task_retimes(insured):
    from omniguichet.crm.tasks import retime_open_items

    person, _user = insured
    seed_threads(person, waiting=2, since=paris(2026, 12, 4, 16, 0))
    DeadlinePolicy.objects.create(kind="message", motive_id="remboursement", duration=1, unit="working_days")
    assert retime_open_items.call("message", "remboursement") == 2
    assert set(Thread.objects.values_list("deadline", flat=True)) == {paris(2026, 12, 7, 17, 0)}
    assert retime_open_items.call("returned_letter", None) == 0  # no app registered this kind


def test_the_admin_speaks_french_about_policies_and_calendars(admin_client_, settings):
    from django.utils import translation

    with translation.override("fr"):
        assert str(DeadlinePolicy._meta.verbose_name_plural) == "règles de délai"
        assert str(DeadlinePolicy._meta.get_field("unit").choices[1][1]).startswith("heures ouvrées")
        from omniguichet.referential.models import OpeningPeriod

        assert str(OpeningPeriod._meta.verbose_name_plural) == "plages d'ouverture"
    response = admin_client_.post(
        "/admin/crm/deadlinepolicy/add/",
        {"kind": "returned_letter", "duration": "-5", "unit": "working_hours"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert list(response.context["adminform"].form.errors) == ["duration"]
    assert "Durée" in response.content.decode() or "durée" in response.content.decode()
