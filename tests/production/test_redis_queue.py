"""The task queue on Redis (OMNIGUICHET_TASK_QUEUE=redis, django-tasks' RQ backend), with real worker processes on
Debian's redis-server (`redis_url`, tests/redis_server.py): 4 workers run every task once and periodic tasks once
per period; a task whose worker (or only its work horse) is killed with SIGKILL runs again, and none stays
"running"."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import ENTRY, horse, kill_session, start_workers, stop

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the queue is Redis: one SQLite run is enough",
)
# The lease of a running job: renewed every second, lost after 3; the registries cleaned every second.
FAST_LEASE = {
    "OMNIGUICHET_WORKER_HEARTBEAT_SECONDS": "1",
    "OMNIGUICHET_WORKER_LEASE_SECONDS": "3",
    "OMNIGUICHET_RQ_MAINTENANCE_SECONDS": "1",
}


def _base_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(OMNIGUICHET_VAR_DIR=str(tmp), DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3", PYTHONPATH=str(ROOT),
               **extra)  # fmt: skip
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """One migrated SQLite file for the module, copied by each test (a migration takes seconds)."""
    tmp = tmp_path_factory.mktemp("migrated")
    subprocess.run([*ENTRY, "migrate", "--no-input", "-v", "0"], env=_base_env(tmp), check=True, timeout=300)
    return tmp / "db.sqlite3"


@pytest.fixture
def make_env(tmp_path, redis_url, migrated):
    def make(**extra: str) -> dict[str, str]:
        shutil.copyfile(migrated, tmp_path / "db.sqlite3")
        return _base_env(tmp_path, OMNIGUICHET_TASK_QUEUE="redis", REDIS_URL=redis_url, **extra)

    return make


def _run(env: dict[str, str], code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code, *args], capture_output=True, text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "omniguichet.settings"}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


ENQUEUE_NOTES = """
import sys
from tests.production.tasks_for_workers import note
for number in range(int(sys.argv[2])):
    note.enqueue(sys.argv[1], number)
"""


def test_four_workers_on_redis_run_each_task_once_and_each_period_once(tmp_path, make_env):
    env = make_env(OUTREACH_SWEEP_SECONDS="1", APPOINTMENTS_SWEEP_SECONDS="1")
    marker = tmp_path / "notes.txt"
    workers = start_workers(env, 4)
    try:
        _run(env, ENQUEUE_NOTES, str(marker), "200")
        _wait(
            lambda: marker.exists() and len(marker.read_text().splitlines()) >= 200, 120, "notes not all run"
        )
        time.sleep(4)  # periodic sweeps for a few periods, and any duplicate note would show
    finally:
        stop(workers)
    numbers = sorted(int(line) for line in marker.read_text().splitlines())
    assert numbers == list(range(200))  # every task once: none lost, none twice
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        slots = [
            s for (s,) in conn.execute("select slot from core_scheduleslot where name = 'outreach.sweep'")
        ]
    assert slots and len(slots) == len(set(slots))


ENQUEUE_SLOW = """
import sys
from tests.production.tasks_for_workers import slow_the_first_time
print(slow_the_first_time.enqueue(sys.argv[1]).id)
"""
# The task's state as django-tasks reports it, and how many jobs RQ holds as started.
STATE = """
import sys
import django_rq
from django_tasks import default_task_backend
registry = django_rq.get_queue("default").started_job_registry
print(default_task_backend.get_result(sys.argv[1]).status, registry.get_job_count(cleanup=False))
"""


def _state(env: dict[str, str], task_id: str) -> tuple[str, int]:
    status, started = _run(env, STATE, task_id).split()
    return status, int(started)


def _starts(marker: Path) -> list[str]:
    return marker.read_text().splitlines() if marker.exists() else []


def test_a_task_whose_worker_is_killed_runs_again_on_another_worker(tmp_path, make_env):
    env = make_env(**FAST_LEASE)
    marker, log = tmp_path / "runs.txt", tmp_path / "workers.log"
    [first] = start_workers(env, 1, log)
    others: list[subprocess.Popen] = []
    try:
        task_id = _run(env, ENQUEUE_SLOW, str(marker)).strip()
        _wait(lambda: _starts(marker) == ["start 1"], 60, "the first worker never started the task")
        kill_session(
            first
        )  # the worker, its scheduler and its work horse: SIGKILL, in the middle of the task
        assert _state(env, task_id) == ("RUNNING", 1)  # what the killed worker left behind
        others = start_workers(env, 1, log)
        killed_at = time.monotonic()
        _wait(lambda: _state(env, task_id)[0] == "SUCCESSFUL", 60, "the task never ran again")
        took = time.monotonic() - killed_at
    finally:
        stop([first, *others])
    assert _starts(marker) == ["start 1", "start 2"]
    assert _state(env, task_id) == ("SUCCESSFUL", 0)  # no job left "running"
    # Found once the lease (3 s) ran out, at the next cleaning (every second).
    assert took < 30, took
    print(f"\nRedis queue: the task of a SIGKILLed worker ran again and ended after {took:.1f} s (lease 3 s)")
    assert "queued again (1 of at most 3)" in log.read_text()


def test_a_task_whose_work_horse_is_killed_runs_again(tmp_path, make_env):
    """The out-of-memory killer takes the work horse (the process running the task), not its worker."""
    env = make_env(**FAST_LEASE)
    marker = tmp_path / "runs.txt"
    workers = start_workers(env, 1)
    try:
        task_id = _run(env, ENQUEUE_SLOW, str(marker)).strip()
        _wait(lambda: _starts(marker) == ["start 1"], 60, "the worker never started the task")
        os.kill(horse(workers[0]), signal.SIGKILL)
        _wait(lambda: _state(env, task_id)[0] == "SUCCESSFUL", 60, "the task never ran again")
    finally:
        stop(workers)
    assert _starts(marker) == ["start 1", "start 2"]
    assert _state(env, task_id) == ("SUCCESSFUL", 0)


def test_a_task_killed_more_times_than_its_retries_ends_failed(tmp_path, make_env):
    env = make_env(OMNIGUICHET_TASK_RETRIES="0", **FAST_LEASE)
    marker = tmp_path / "runs.txt"
    workers = start_workers(env, 1)
    try:
        task_id = _run(env, ENQUEUE_SLOW, str(marker)).strip()
        _wait(lambda: _starts(marker) == ["start 1"], 60, "the worker never started the task")
        os.kill(horse(workers[0]), signal.SIGKILL)
        _wait(lambda: _state(env, task_id)[0] == "FAILED", 60, "the task still runs")
        time.sleep(2)  # and it is not run again
    finally:
        stop(workers)
    assert _starts(marker) == ["start 1"]
    assert _state(env, task_id) == ("FAILED", 0)


def test_readiness_pings_the_redis_queue(settings, redis_url):
    import redis

    from omniguichet.core.production import CHECKS

    settings.TASK_QUEUE, settings.REDIS_URL = "redis", redis_url
    CHECKS["task_queue"]()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nobody there
    with pytest.raises(redis.exceptions.ConnectionError):
        CHECKS["task_queue"]()
