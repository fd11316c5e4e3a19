"""`omniguichet serve` (what `make demo` runs) starts the web server, the worker and mailin, and stops them all."""

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_with(var_dir: str) -> list[int]:
    """Pids whose environment points at this test's var directory."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"OMNIGUICHET_VAR_DIR={var_dir}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_serve_runs_web_and_worker_and_stops_both(tmp_path):
    var_dir = str(tmp_path)
    env = {**os.environ, "OMNIGUICHET_VAR_DIR": var_dir, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    cli = [sys.executable, "-m", "omniguichet.cli"]
    subprocess.run([*cli, "migrate", "-v", "0"], env=env, check=True)
    port, smtp_port = _free_port(), _free_port()
    serve = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--mailin-port", str(smtp_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = ""
        deadline = time.monotonic() + 180  # the start on a busy 2-core machine (a check, then the processes)
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert "omniguichet" in body
        for _ in range(60):  # mailin answers SMTP
            try:
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as client:
                    assert client.noop()[0] == 250
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("mailin did not start")
        assert len(_processes_with(var_dir)) == 4  # serve, runserver, worker, mailin
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=20)
    for _ in range(20):
        if not _processes_with(var_dir):
            break
        time.sleep(0.5)
    assert _processes_with(var_dir) == []
