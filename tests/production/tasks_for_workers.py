"""A task for tests/production/test_workers.py, run by real worker processes: it notes each start in a file and,
the first time, takes long enough to be killed in the middle."""

import time
from pathlib import Path

from django_tasks import task


@task()
def slow_the_first_time(marker: str) -> int:
    path = Path(marker)
    runs = len(path.read_text().splitlines()) + 1 if path.exists() else 1
    with path.open("a") as handle:
        handle.write(f"start {runs}\n")
    if runs == 1:
        time.sleep(120)  # killed before the end
    return runs


@task()
def note(marker: str, number: int) -> int:
    """Appends its number to a file (one small O_APPEND write: whole lines even from several processes)."""
    import os

    fd = os.open(marker, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{number}\n".encode())
    finally:
        os.close(fd)
    return number
