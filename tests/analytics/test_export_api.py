"""The warehouse export as a background task: the national role queues it through the API and reads its status;
the worker runs it and computes the dashboards' figures again; the schedule comes back by itself."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from django.core.management import call_command
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from omniguichet.analytics import engine, services, tasks
from omniguichet.analytics.models import ExportRun, ExportStatus
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.db import is_postgresql
from omniguichet.core.errors import Conflict
from omniguichet.crm.services import record_contact
from omniguichet.referential.models import Role
from tests.conftest import make_user
from tests.crm.conftest import client_for

URL = "/api/v1/analytics/exports"


@pytest.fixture(autouse=True)
def _warehouse_settings(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "test-pseudonym-key")
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_BONUS_WEIGHTS = ""
    settings.ANALYTICS_EXPORT_EVERY_SECONDS = 3600
    services._memo.clear()


@pytest.fixture
def contacts(make_person):
    person = make_person()
    now = dt.datetime.now(dt.UTC)
    return [
        record_contact(actor=Actor.system(), person=person, channel=Channel.PHONE, motive="remboursement",
                       started_at=now - dt.timedelta(days=d), answered=True)
        for d in (1, 2, 3)
    ]  # fmt: skip


def run_worker_once():
    """`omniguichet worker --batch`, then the signal handlers it installed put back: a process forked later in
    this test process (the seed's generator) must still die on SIGTERM."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("worker", "--batch", "--interval", "0")
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def queued_tasks(task):
    return list(
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=task.module_path).values_list(
            "args_kwargs", flat=True
        )
    )


def test_anonymous_answers_401(client):
    assert client.post(URL).status_code == 401
    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}/1").status_code == 401


def test_other_roles_answer_403(agent_paris, caisse_paris):
    manager = make_user("manager-paris", role=Role.MANAGER, caisse=caisse_paris)
    for user in (agent_paris, manager):
        api = client_for(user)
        for response in (api.post(URL), api.get(URL), api.get(f"{URL}/1")):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "forbidden"
    assert not ExportRun.objects.exists()


@pytest.mark.django_db(transaction=True)  # the worker closes its database connections, as in production
def test_the_national_role_queues_an_export_the_worker_runs(supervisor, contacts, settings):
    api = client_for(supervisor)
    response = api.post(URL)
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["trigger"], body["contacts"]) == ("queued", "api", 0)
    run_id = body["id"]
    assert queued_tasks(tasks.run_export_task) == [{"args": [run_id], "kwargs": {}}]
    # Asking again while it waits queues nothing more.
    again = api.post(URL)
    assert again.status_code == 202 and again.json()["id"] == run_id
    assert len(queued_tasks(tasks.run_export_task)) == 1

    run_worker_once()

    status = api.get(f"{URL}/{run_id}")
    assert status.status_code == 200
    done = status.json()
    assert (done["status"], done["contacts"], done["changed"], done["error"]) == ("done", 3, 0, "")
    assert done["high_water"] == contacts[-1].pk
    if is_postgresql():
        # The floor reaches the mark only once every transaction running at the export has ended, anywhere in
        # the cluster (the other test process may have one open): before that it stays where it was, never above.
        assert done["floor"] in (0, done["high_water"])
    else:
        assert done["floor"] == done["high_water"]
    assert done["started_at"] and done["finished_at"]
    assert (settings.ANALYTICS_WAREHOUSE_DIR / "contacts").is_dir()
    # The dashboards' figures (this year and last year) were computed after the export.
    year = dt.datetime.now(engine.PARIS).year
    cached = sorted(p.name.split("-")[1] for p in (settings.ANALYTICS_WAREHOUSE_DIR / "_kpi").glob("*.json"))
    assert cached == [str(year - 1), str(year)]
    # The worker started the schedule: one scheduled export waits, an hour from now.
    assert len(queued_tasks(tasks.scheduled_export)) == 1
    listed = api.get(URL)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [run_id]
    assert api.get(f"{URL}/{run_id + 1}").status_code == 404
    assert api.get(f"{URL}/{2**70}").status_code in (404, 422)


def test_a_failed_export_says_why(supervisor, contacts, settings, monkeypatch):
    run, created = services.request_export(actor=Actor.agent(supervisor), channel=Channel.BACKOFFICE)
    assert created

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services.export, "_export", broken)  # where the export runs look it up
    with pytest.raises(OSError):
        services.run_export(actor=Actor.system(), channel=Channel.BACKOFFICE, run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.error) == (ExportStatus.FAILED, "OSError: disk full")


def test_one_export_at_a_time_and_an_interrupted_run_is_marked(supervisor, contacts, settings):
    out = settings.ANALYTICS_WAREHOUSE_DIR
    stale = ExportRun.objects.create(trigger="api", status=ExportStatus.RUNNING)
    run, _ = services.request_export(actor=Actor.agent(supervisor), channel=Channel.BACKOFFICE)
    with services.export_lock(out):
        # Another process holding the lock: a second file descriptor on the same file cannot take it.
        import fcntl
        import os

        fd = os.open(out / ".export.lock", os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    # Not held any more: the run goes, and the run a killed worker left "running" is marked interrupted.
    done = services.run_export(actor=Actor.system(), channel=Channel.BACKOFFICE, run_id=run.pk)
    assert done.status == ExportStatus.DONE and done.contacts == 3
    stale.refresh_from_db()
    assert (stale.status, stale.error) == (ExportStatus.FAILED, "interrupted")
    # Running the same run again (a task delivered twice) does nothing.
    assert services.run_export(actor=Actor.system(), channel=Channel.BACKOFFICE, run_id=run.pk).contacts == 3


def test_a_run_waits_while_another_export_holds_the_warehouse(supervisor, contacts, settings, monkeypatch):
    run, _ = services.request_export(actor=Actor.agent(supervisor), channel=Channel.BACKOFFICE)

    def busy(**kwargs):
        raise Conflict("an export of this warehouse is already running")

    monkeypatch.setattr(services, "run_export", busy)
    assert tasks.run_export_task.call(run.pk) == 0
    assert queued_tasks(tasks.run_export_task) == [{"args": [run.pk], "kwargs": {}}]


def test_the_scheduled_export_runs_and_comes_back(contacts, settings):
    assert tasks.scheduled_export.call() == 3
    run = ExportRun.objects.get()
    assert (run.trigger, run.status, run.requested_by) == ("schedule", ExportStatus.DONE, None)
    assert len(queued_tasks(tasks.scheduled_export)) == 1
    tasks.start_schedule()  # a worker starting again does not start a second chain
    assert len(queued_tasks(tasks.scheduled_export)) == 1
    settings.ANALYTICS_EXPORT_EVERY_SECONDS = 0
    DBTaskResult.objects.all().delete()
    tasks.start_schedule()
    assert queued_tasks(tasks.scheduled_export) == []


def test_the_export_lock_is_reentrant_in_one_thread_only(tmp_path):
    import threading

    outcomes = []

    def other_thread():
        try:
            with services.export_lock(tmp_path):
                outcomes.append("taken")
        except Conflict:
            outcomes.append("conflict")

    with services.export_lock(tmp_path), services.export_lock(tmp_path):  # re-entrant in this thread
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert outcomes == ["conflict"]
    other_thread()  # released: free again
    assert outcomes == ["conflict", "taken"]
