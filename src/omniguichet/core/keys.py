"""Secrets generated once into a file of the var directory when the environment gives none (SECRET_KEY, the
pseudonym key, the document key). No Django import: settings.py uses it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def key_from_file(key_file: Path, make: Callable[[], str]) -> str:
    """The key stored in `key_file`, created first with `make()` and mode 0600 (only the platform's own user
    reads it). Two processes starting together create it once: the loser reads the winner's key."""
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
    return key_file.read_text().strip()
