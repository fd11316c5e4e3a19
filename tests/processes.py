"""Real worker processes on Redis in tests: RQ's worker runs each job in a forked "work horse" that leads a process
group of its own, so a worker is started in a session of its own and killed session-wide (as a lost machine)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ENTRY = [sys.executable, "-m", "omniguichet.cli"]


def start_workers(env: dict[str, str], count: int, log: Path | None = None) -> list[subprocess.Popen]:
    output = log.open("ab") if log else subprocess.DEVNULL
    return [
        subprocess.Popen([*ENTRY, "worker"], env=env, start_new_session=True, stdout=output, stderr=output)
        for _ in range(count)
    ]


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command's name: state, ppid, pgrp, session, ..."""
    return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def session(sid: int) -> list[int]:
    """The processes of a session: the worker, its scheduler and its work horse."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat(int(entry.name))[3]) == sid:
                    found.append(int(entry.name))
    return found


def horse(worker: subprocess.Popen) -> int:
    """The work horse: the worker's child that leads a process group of its own."""
    for pid in session(worker.pid):
        with contextlib.suppress(OSError, IndexError):
            fields = _stat(pid)
            if int(fields[1]) == worker.pid and int(fields[2]) == pid:
                return pid
    raise AssertionError("the worker has no work horse")


def kill_session(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and every process it started."""
    for pid in session(worker.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (RQ's warm shutdown), then SIGKILL what is left after 20 s."""
    for p in processes:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_session(p)
