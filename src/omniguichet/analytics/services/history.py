"""Importing contact history files into the warehouse."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from omniguichet.analytics import engine
from omniguichet.analytics.services.common import IMPORTS_DIR, month_dirs
from omniguichet.analytics.services.export import export_lock
from omniguichet.analytics.services.layout import _write_import_marker, migrate_layout
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden, InvalidInput

# ------------------------------------------------------------------------------------------------ history import
HISTORY_DIR = "history"  # persons/history/: the persons of external history, never touched by the export


@dataclass(frozen=True)
class ImportReport:
    name: str  # the imported files' name in the warehouse (a digest of the sources' content)
    contacts: int
    persons: int
    already_imported: bool  # the same sources were imported before: nothing written


def _digest(files: list[str]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(Path(file).name.encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:32]


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _duplicates(con: Any, view: str, column: str, existing: list[Path], label: str) -> None:
    """SchemaError when `column` repeats within the source or a value is already in the warehouse."""
    found = con.execute(
        f"SELECT {column}, count(*) FROM {view} GROUP BY {column} HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if found:
        raise engine.SchemaError(f"{label}: column {column!r}: {found[0]!r} appears {found[1]} times")
    if existing:
        files = engine._sql_list(str(p) for p in existing)
        found = con.execute(
            f"SELECT {column} FROM {view} WHERE {column} IN "
            f"(SELECT {column} FROM read_parquet({files})) LIMIT 1"
        ).fetchone()
        if found:
            raise engine.SchemaError(f"{label}: column {column!r}: {found[0]!r} is already in the warehouse")


def import_history(
    *,
    actor: Actor,
    channel: Channel,
    contacts: Path | str,
    persons: Path | str | None = None,
    out: Path | str | None = None,
) -> ImportReport:
    """Import external history in the documented schema (Parquet or CSV) into the warehouse, beside the
    platform's export and in its layout: contacts/month=YYYY-MM/history-<name>-<n>.parquet (by the local month of
    started_at, like the export's parts) and persons/history/<name>.parquet. Everything is checked before
    anything is written (schema, values, contact_id and person_key unique within the source and against the
    warehouse, contact ids not made of digits only: those are the platform's own contact ids); the files are
    written to a hidden staging folder, fsynced, then renamed, and contacts/_imports/<name>.json says the import
    is complete; importing the same sources again writes nothing."""
    if not actor.sees_all_caisses:
        raise Forbidden("the warehouse covers every caisse: a national role is required")
    out = Path(out or settings.ANALYTICS_WAREHOUSE_DIR)
    sources = [Path(contacts)] + ([Path(persons)] if persons is not None else [])
    with export_lock(out):
        contacts_dir, persons_dir = out / "contacts", out / "persons" / HISTORY_DIR
        for folder in (contacts_dir, persons_dir):
            for stale in folder.rglob("*.tmp") if folder.is_dir() else ():  # a crashed import's half files
                stale.unlink()
        if contacts_dir.is_dir():
            for staging in contacts_dir.glob(".import-*"):
                shutil.rmtree(staging)
            migrate_layout(contacts_dir)  # a flat warehouse (and its history) is moved to the months first
        try:
            files = [
                file
                for role, path in zip(("contacts", "persons"), sources, strict=False)
                for file in engine._files(role, path)[1]
            ]
            name = _digest(files)
        except engine.SchemaError as exc:
            raise InvalidInput.from_fields({"source": str(exc)}) from None
        except OSError as exc:
            raise InvalidInput.from_fields(
                {"source": f"cannot read {exc.filename}: {exc.strerror}"}
            ) from None
        marker = contacts_dir / IMPORTS_DIR / f"{name}.json"
        if marker.exists():
            counts_done = json.loads(marker.read_text())
            return ImportReport(
                name, counts_done.get("contacts", 0), counts_done.get("persons", 0), already_imported=True
            )
        mine = f"history-{name}-"
        con = engine.connect(memory_limit=settings.ANALYTICS_DUCKDB_MEMORY_LIMIT)
        try:
            specs = [("contacts", Path(contacts), engine.CONTACTS_SCHEMA, engine.CONTACTS_NULLABLE)]
            if persons is not None:
                specs.append(("persons", Path(persons), engine.PERSONS_SCHEMA, engine.PERSONS_NULLABLE))
            counts: list[int] = []
            try:
                for role, path, schema, nullable in specs:
                    engine.load_source(con, role=role, path=path, schema=schema, nullable=nullable)
                    column = "contact_id" if role == "contacts" else "person_key"
                    existing = [  # the warehouse's files, but not those of a crashed run of this same import
                        p
                        for p in sorted((out / role).rglob("*.parquet"))
                        if not p.name.startswith(mine) and p.name != f"{name}.parquet"
                        and not any(part.startswith(".") for part in p.relative_to(out).parts)
                    ]  # fmt: skip
                    _duplicates(con, role, column, existing, role)
                    if role == "contacts":
                        found = con.execute(
                            "SELECT contact_id FROM contacts WHERE regexp_full_match(contact_id, '[0-9]+') LIMIT 1"
                        ).fetchone()
                        if found:
                            raise engine.SchemaError(
                                f"contacts: column 'contact_id': {found[0]!r} is made of digits only, like the "
                                "platform's own contact ids: prefix the imported ids (e.g. 'h-"
                                + found[0]
                                + "')"
                            )
                    row = con.execute(f"SELECT count(*) FROM {role}").fetchone()
                    counts.append(int(row[0]) if row else 0)
            except engine.SchemaError as exc:
                raise InvalidInput.from_fields({"source": str(exc)}) from None
            # Written in the platform's own column types (timestamps in UTC), the contacts by local month, into a
            # hidden staging folder (no reader lists it), then renamed into place.
            staging = contacts_dir / f".import-{name}"
            staging.mkdir(parents=True, exist_ok=True)
            written: list[tuple[Path, Path]] = []
            for role, _path, schema, _nullable in specs:
                columns = ", ".join(
                    f"CAST({c} AS TIMESTAMPTZ) AS {c}" if logical == "timestamp" else c
                    for c, logical in schema.items()
                )
                if role == "contacts":
                    month = "strftime(CAST(started_at AS TIMESTAMPTZ) AT TIME ZONE 'Europe/Paris', '%Y-%m')"
                    con.execute(
                        f"COPY (SELECT {columns}, {month} AS month FROM contacts) TO {_quoted(staging / 'contacts')} "
                        "(FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (month))"
                    )
                    for folder in month_dirs(staging / "contacts"):
                        for n, file in enumerate(sorted(folder.glob("*.parquet"))):
                            written.append((file, contacts_dir / folder.name / f"{mine}{n}.parquet"))
                else:
                    tmp = staging / "persons.parquet"
                    con.execute(
                        f"COPY (SELECT {columns} FROM persons) TO {_quoted(tmp)} (FORMAT PARQUET, COMPRESSION ZSTD)"
                    )
                    written.append((tmp, persons_dir / f"{name}.parquet"))
            for tmp, _target in written:
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
            for tmp, target in written:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
            _write_import_marker(
                contacts_dir, name, contacts=counts[0], persons=counts[1] if len(counts) > 1 else 0
            )
            shutil.rmtree(staging)
        finally:
            con.close()
    return ImportReport(name, counts[0], counts[1] if len(counts) > 1 else 0, already_imported=False)
