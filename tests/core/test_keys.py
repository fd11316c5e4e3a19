"""The generated key files: created once, whole, private, whoever starts first."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

from omniguichet.core.keys import key_from_file


def test_the_key_is_created_once_with_mode_0600_and_read_back(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "some_key"
    assert key_from_file(key_file, lambda: "first") == "first"
    assert key_from_file(key_file, lambda: "second") == "first"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["some_key"]  # no temporary file left behind


def test_a_process_starting_while_another_writes_the_key_never_reads_it_half_written(tmp_path: Path) -> None:
    # The first caller takes its time to make the key; the second starts in the middle. Both must get the same,
    # whole key (before the fix the second read the empty file the first had just created).
    key_file = tmp_path / "document_key"
    results: dict[str, str] = {}

    def slow_make() -> str:
        time.sleep(0.3)
        return "slow-key"

    first = threading.Thread(target=lambda: results.update(first=key_from_file(key_file, slow_make)))
    first.start()
    time.sleep(0.1)
    results["second"] = key_from_file(key_file, lambda: "quick-key")
    first.join()
    assert results["first"] == results["second"] != ""
    assert key_file.read_text() == results["first"]
    assert [p.name for p in tmp_path.iterdir()] == ["document_key"]
