"""The log lines of the whole test run, written through the platform's own filter and JSON format, scanned at the
end for NIR-shaped strings (issue 18: no NIR in any log line). Wired in tests/conftest.py."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from stdnum.fr import nir as stdnum_nir

LOG_DIR_VARIABLE = "OMNIGUICHET_TEST_LOG_DIR"
# 15 digits (Corsica: 2A/2B), with or without the spaces people type; kept only when the key is right.
_CANDIDATE = re.compile(r"(?<![\dA-Za-z])[12378](?:\s?\w){14}(?![\dA-Za-z])")


def nir_shaped(lines: Iterable[str]) -> list[str]:
    found = []
    for line in lines:
        for match in _CANDIDATE.finditer(line):
            compact = re.sub(r"\s", "", match.group())
            if len(compact) == 15 and stdnum_nir.is_valid(compact):
                found.append(line.strip())
                break
    return found


def install(worker: str) -> None:
    """Every record of level INFO and above, as production writes it, into this process's file."""
    from omniguichet.core.observability import JsonFormatter, RequestIdFilter

    directory = os.environ.get(LOG_DIR_VARIABLE)
    if not directory:
        return
    handler = logging.FileHandler(Path(directory) / f"{worker}.log", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))


def scan(directory: str) -> list[str]:
    found: list[str] = []
    for path in sorted(Path(directory).glob("*.log")):
        with path.open(encoding="utf-8", errors="replace") as handle:
            found += [f"{path.name}: {line}" for line in nir_shaped(handle)]
    return found
