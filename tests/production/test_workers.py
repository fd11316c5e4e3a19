"""Task workers across processes: leases with a heartbeat (a task of a killed worker runs again, none stays
"running" forever) and periodic tasks run once per period whichever of 4 workers takes them."""

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from omniguichet.core.models import ScheduleSlot, WorkerHeartbeat
from omniguichet.core.workers import beat, claim_slot, requeue_abandoned

ENTRY = [sys.executable, "-m", "omniguichet.cli"]
ROOT = Path(__file__).resolve().parents[2]


def test_one_run_per_period(db):
    now = timezone.now()
    assert claim_slot("t", 60, now=now) is True
    assert claim_slot("t", 60, now=now + dt.timedelta(seconds=1)) in (
        False,
        True,
    )  # same period unless at its edge
    assert claim_slot("t", 60, now=now) is False
    assert claim_slot("other", 60, now=now) is True
    assert claim_slot("t", 60, now=now + dt.timedelta(seconds=61)) is True
    assert ScheduleSlot.objects.filter(name="t").count() >= 2


def _running(task_id: str, worker: str, started: dt.datetime) -> DBTaskResult:
    return DBTaskResult.objects.create(
        id=task_id, status=TaskResultStatus.RUNNING, args_kwargs={"args": [], "kwargs": {}},
        task_path="omniguichet.outreach.tasks.dispatch_messages", worker_ids=[worker], backend_name="default",
        queue_name="default", run_after=started, started_at=started,
    )  # fmt: skip


def test_tasks_of_a_dead_worker_are_queued_again(db, settings):
    settings.WORKER_LEASE_SECONDS = 30
    now = timezone.now()
    beat("alive", now=now)
    beat("dead", now=now - dt.timedelta(minutes=5))
    long_ago = now - dt.timedelta(minutes=10)
    on_alive = _running("11111111-1111-4111-8111-111111111111", "alive", long_ago)
    on_dead = _running("22222222-2222-4222-8222-222222222222", "dead", long_ago)
    just_started = _running("33333333-3333-4333-8333-333333333333", "unknown", now)
    assert requeue_abandoned(now=now) == 1
    statuses = {str(k): v for k, v in DBTaskResult.objects.values_list("id", "status")}
    assert statuses[str(on_dead.id)] == TaskResultStatus.READY
    assert statuses[str(on_alive.id)] == statuses[str(just_started.id)] == TaskResultStatus.RUNNING
    assert WorkerHeartbeat.objects.filter(worker_id="dead").exists()  # kept a while for the record


# --- real worker processes on a SQLite file -----------------------------------------------------------------------
def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(OMNIGUICHET_VAR_DIR=str(tmp), DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3", PYTHONPATH=str(ROOT),
               OMNIGUICHET_WORKER_HEARTBEAT_SECONDS="0.5", OMNIGUICHET_WORKER_LEASE_SECONDS="3", **extra)  # fmt: skip
    return env


def _query(tmp: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp / "db.sqlite3", timeout=10) as conn:
        return conn.execute(sql).fetchall()


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


ENQUEUE = """
import django, sys; django.setup()
from tests.production.tasks_for_workers import slow_the_first_time
print(slow_the_first_time.enqueue(sys.argv[1]).id)
"""


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="one SQLite file is enough"
)
def test_a_task_of_a_killed_worker_runs_again(tmp_path):
    env = _env(tmp_path)
    subprocess.run([*ENTRY, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300)
    marker = tmp_path / "runs.txt"
    enqueued = subprocess.run([sys.executable, "-c", ENQUEUE, str(marker)], check=True, capture_output=True,
                              text=True, env={**env, "DJANGO_SETTINGS_MODULE": "omniguichet.settings"})  # fmt: skip
    task_id = enqueued.stdout.strip().splitlines()[-1].replace("-", "")
    first = subprocess.Popen([*ENTRY, "worker", "--interval", "0.2"], env=env)
    second = None
    try:
        _wait(lambda: marker.exists(), 60, "the first worker never started the task")
        first.send_signal(signal.SIGKILL)  # in the middle of the task
        first.wait(timeout=10)
        status = (
            f"select status from django_tasks_database_dbtaskresult where replace(id, '-', '') = '{task_id}'"
        )
        assert _query(tmp_path, status) == [("RUNNING",)]
        second = subprocess.Popen([*ENTRY, "worker", "--interval", "0.2"], env=env)
        _wait(lambda: _query(tmp_path, status) == [("SUCCESSFUL",)], 60, "the task never ran again")
        assert marker.read_text().splitlines() == ["start 1", "start 2"]
        assert _query(
            tmp_path, "select count(*) from django_tasks_database_dbtaskresult where status = 'RUNNING'"
        ) == [(0,)]
    finally:
        _stop([p for p in (first, second) if p is not None])


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="one SQLite file is enough"
)
def test_four_workers_run_each_periodic_task_once_per_period(tmp_path):
    env = _env(tmp_path, OUTREACH_SWEEP_SECONDS="1", APPOINTMENTS_SWEEP_SECONDS="1")
    subprocess.run([*ENTRY, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300)
    workers = [subprocess.Popen([*ENTRY, "worker", "--interval", "0.1"], env=env) for _ in range(4)]
    first_slot = "select count(*) from core_scheduleslot where name = 'outreach.sweep'"
    try:
        # The window starts when a worker has run its first sweep: starting four Django processes takes seconds
        # on a busy machine, and a fixed sleep from their launch measured the start-up, not the schedule.
        _wait(lambda: _query(tmp_path, first_slot)[0][0] > 0, 120, "no worker ever ran a periodic task")
        started = time.monotonic()
        time.sleep(8)
        elapsed = time.monotonic() - started + 1  # the slot seen before the window began
    finally:
        _stop(workers)
    for name in ("outreach.sweep", "appointments.sweep_missed"):
        slots = [s for (s,) in _query(tmp_path, f"select slot from core_scheduleslot where name = '{name}'")]
        assert len(slots) == len(set(slots)) and 3 <= len(slots) <= elapsed + 2, (name, slots)
    # However many chains the 4 workers started, one is left waiting per periodic task.
    waiting = _query(tmp_path, "select task_path, count(*) from django_tasks_database_dbtaskresult "
                               "where status = 'READY' and task_path like '%sweep%' group by task_path")  # fmt: skip
    assert waiting and all(count == 1 for _path, count in waiting), waiting
