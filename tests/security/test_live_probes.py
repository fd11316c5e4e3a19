"""The probe list of issue 19 replayed from outside: `omniguichet serve` (as `make demo` runs it) on a fresh demo
database, probed over real HTTP from several loopback addresses by tests/security/live_probes.py."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.security import live_probes

ROOT = Path(__file__).resolve().parents[2]
OMNIGUICHET = [sys.executable, "-m", "omniguichet.cli"]

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="one run is enough: the server's own database is a SQLite file"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    var = tmp_path_factory.mktemp("live-demo")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(OMNIGUICHET_VAR_DIR=str(var), DEBUG="1", DJANGO_SETTINGS_MODULE="omniguichet.settings")
    for command in (["migrate", "--no-input", "-v", "0"], ["seed", "--persons", "300", "--no-progress"]):
        subprocess.run(
            [*OMNIGUICHET, *command], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300
        )
    port = free_port()
    server = subprocess.Popen(
        # mailin on a free port: the default (2525) may be taken by another test's server at the same moment.
        [
            *OMNIGUICHET,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--mailin-port",
            str(free_port()),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/accessibilite/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        # What an attacker is assumed to know, read from the server's database by a process of its own.
        found = subprocess.run(
            [sys.executable, "-c", "import json, dataclasses; from tests.security.live_probes import discover; "
             "print(json.dumps(dataclasses.asdict(discover())))"],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        yield base, live_probes.Target(**__import__("json").loads(found.stdout.strip().splitlines()[-1]))
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_the_probe_list_replayed_from_outside_finds_nothing(demo_server):
    base, target = demo_server
    report = io.StringIO()
    results = live_probes.run(base, target, out=report)
    assert len(results) == len(live_probes.PROBES) >= 11
    assert [name for name, ok, _ in results if not ok] == [], report.getvalue()
