"""Secrets generated once into a file of the var directory when the environment gives none (SECRET_KEY, the
pseudonym key, the document key). No Django import: settings.py uses it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def key_from_file(key_file: Path, make: Callable[[], str]) -> str:
    """The key stored in `key_file`, created first with `make()` and mode 0600 (only the platform's own user
    reads it). Processes starting together create it once: the key is written whole to a private temporary
    file, then published under its name with `link`, which fails when another process published first. Nobody
    ever reads a half-written key (two test workers starting together once read an empty file)."""
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=f".{key_file.name}.")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp already made it 0600
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process published first: all use that one
                os.link(temporary, key_file)
        finally:
            os.unlink(temporary)
    return key_file.read_text().strip()
