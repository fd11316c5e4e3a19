"""The task queue on Redis (OMNIGUICHET_TASK_QUEUE=redis, django-tasks' RQ backend): 4 real workers run every
task once, and periodic tasks once per period. (A job whose worker is killed is not run again on Redis yet:
docs/production.md.)

Debian's redis-server is started for the module on a free port (`make test` installs it when missing)."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENTRY = [sys.executable, "-m", "omniguichet.cli"]
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the queue is Redis: one SQLite run is enough",
)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is missing: `make test` installs it (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    directory = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _env(tmp: Path, redis_url: str, db: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(OMNIGUICHET_VAR_DIR=str(tmp), DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3", PYTHONPATH=str(ROOT),
               OMNIGUICHET_TASK_QUEUE="redis", REDIS_URL=f"{redis_url}/{db}", **extra)  # fmt: skip
    subprocess.run([*ENTRY, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300)
    return env


def _run(env: dict[str, str], code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code, *args], capture_output=True, text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "omniguichet.settings"}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _workers(env: dict[str, str], count: int) -> list[subprocess.Popen]:
    # Each in its own process group: RQ runs a job in a forked "work horse", killed with its worker.
    return [
        subprocess.Popen(
            [*ENTRY, "worker"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


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


def test_four_workers_on_redis_run_each_task_once_and_each_period_once(tmp_path, redis_url):
    env = _env(tmp_path, redis_url, 1, OUTREACH_SWEEP_SECONDS="1", APPOINTMENTS_SWEEP_SECONDS="1")
    marker = tmp_path / "notes.txt"
    workers = _workers(env, 4)
    try:
        _run(env, ENQUEUE_NOTES, str(marker), "200")
        _wait(
            lambda: marker.exists() and len(marker.read_text().splitlines()) >= 200, 120, "notes not all run"
        )
        time.sleep(4)  # periodic sweeps for a few periods, and any duplicate note would show
    finally:
        _stop(workers)
    numbers = sorted(int(line) for line in marker.read_text().splitlines())
    assert numbers == list(range(200))  # every task once: none lost, none twice
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        slots = [
            s for (s,) in conn.execute("select slot from core_scheduleslot where name = 'outreach.sweep'")
        ]
    assert slots and len(slots) == len(set(slots))
