"""Debian's redis-server for the tests that need a real Redis (the task queue and the cache on Redis).

Installed with apt-get when missing (as `make test` does), started once per test process on a free port without
persistence; each test gets a database number of its own, emptied (`redis_url` in tests/conftest.py)."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATABASES = 64


def ensure_installed() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, capture_output=True,
                       timeout=600)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"redis-server is missing and apt-get could not install it: {exc}") from exc
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("redis-server is still missing after apt-get install redis-server")
    return found


@contextmanager
def running(directory: Path) -> Iterator[str]:
    """A redis-server on a free port of 127.0.0.1 for the block; yields its URL (without a database number)."""
    binary = ensure_installed()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--databases", str(DATABASES), "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


class Databases:
    """Hands out the server's database numbers, each emptied before use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.numbers = itertools.cycle(range(1, DATABASES))

    def fresh(self) -> str:
        import redis

        url = f"{self.url}/{next(self.numbers)}"
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
        return url
