"""The warehouse's month layout on disk: files written under hidden temporary names then renamed, rows split by
the local month of started_at, and the migration of a flat warehouse (before issue 18) to the month folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from omniguichet.analytics.services.common import IMPORTS_DIR, MONTH_PREFIX, PART_RE, local_months, month_dirs

if TYPE_CHECKING:
    import pyarrow as pa


def _tmp_name(path: Path) -> Path:
    """Where a file is written before its rename: a hidden name, which no reader lists (DuckDB's `*.parquet`,
    pyarrow.dataset, Spark and Trino skip names starting with a dot)."""
    return path.with_name(f".{path.name}.tmp")


def _write_tmp(table: pa.Table, path: Path) -> Path:
    """Write `table` to the temporary name of `path`, fsynced; returns that name."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    return tmp


def _write_atomic(table: pa.Table, path: Path) -> None:
    os.replace(_write_tmp(table, path), path)


def _remove_stale(folder: Path) -> None:
    """Delete what a crash left half-written (temporary names, in any month folder)."""
    if folder.is_dir():
        for stale in folder.rglob("*.tmp"):
            stale.unlink()


def _by_month(table: pa.Table) -> list[tuple[str, pa.Table]]:
    """The rows of `table` split by the local month of started_at (their partition), each in its rows' order."""
    import pyarrow.compute as pc

    months = local_months(table.column("started_at"))
    distinct = sorted(months.unique().to_pylist())
    if len(distinct) == 1:
        return [(distinct[0], table)]
    return [(month, table.filter(pc.equal(months, month))) for month in distinct]


def _part_name(table: pa.Table) -> str:
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = table.column("contact_id").cast(pa.int64())
    return f"part-{pc.min(ids).as_py():012d}-{pc.max(ids).as_py():012d}.parquet"


MIGRATION_DIR = ".migration"  # in contacts/: the month folders of a flat warehouse being migrated
MIGRATION_DONE = "_complete"


def migrate_layout(contacts: Path) -> int:
    """Move a flat warehouse (contacts/part-*.parquet, contacts/history/*.parquet: before issue 18) to the month
    layout; returns the number of files migrated (0: nothing to do). Called holding the export lock, by every
    export before it writes anything, and by `omniguichet warehouse migrate`.

    Every flat file is split by the local month of its rows into contacts/.migration/month=YYYY-MM/ (a hidden
    folder no reader lists), as parts named after their own first and last id (a history file becomes
    history-<name>-0.parquet in each of its months);
    a marker says when all are written and fsynced. Then each month folder is renamed into place (one rename
    per month), the flat files are deleted, and the staging folder. A crash before the marker starts again from
    the flat files; a crash after it finishes the renames. Readers see the flat files until the first month
    folder appears, then the month folders only (engine: a directory with month folders is read by them), so
    the flat files left until the end are never read twice."""
    import pyarrow.parquet as pq

    staging = contacts / MIGRATION_DIR
    flat = [p for p in sorted(contacts.glob("part-*.parquet")) if PART_RE.match(p.name)]
    history = sorted((contacts / "history").glob("*.parquet"))
    if not flat and not history and not staging.exists():
        return 0
    if not (staging / MIGRATION_DONE).exists():
        shutil.rmtree(staging, ignore_errors=True)
        for path in [*flat, *history]:
            table = pq.read_table(path)
            for month, part in _by_month(table):
                name = _part_name(part) if path in flat else f"history-{path.stem}-0.parquet"
                target = staging / f"{MONTH_PREFIX}{month}" / name
                os.replace(_write_tmp(part, target), target)
        staging.mkdir(parents=True, exist_ok=True)
        (staging / MIGRATION_DONE).write_text("")
    for folder in month_dirs(staging):
        target = contacts / folder.name
        if not target.exists():
            os.replace(folder, target)
        else:  # a month already moved in part (or written by an import meanwhile): file by file
            for file in folder.iterdir():
                os.replace(file, target / file.name)
            folder.rmdir()
    for path in history:  # the imports stay known as imported ("already imported" when given again)
        persons = contacts.parent / "persons" / "history" / path.name
        _write_import_marker(
            contacts,
            path.stem,
            contacts=pq.ParquetFile(path).metadata.num_rows,
            persons=pq.ParquetFile(persons).metadata.num_rows if persons.exists() else 0,
        )
    for path in [*flat, *history]:
        path.unlink()
    if (contacts / "history").is_dir() and not any((contacts / "history").iterdir()):
        (contacts / "history").rmdir()
    shutil.rmtree(staging)
    return len(flat) + len(history)


def _write_import_marker(folder: Path, name: str, **counts: int) -> None:
    """contacts/_imports/<name>.json (`folder`: contacts/): the history import `name` is complete (its files all
    renamed)."""
    folder = folder / IMPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = _tmp_name(path)
    tmp.write_text(json.dumps(counts))
    os.replace(tmp, path)
