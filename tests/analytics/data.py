"""Hand-made warehouse files for the indicator tests."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from omniguichet.analytics.engine import CONTACTS_SCHEMA, PERSONS_SCHEMA

_ids = itertools.count(1)

ARROW_TYPES = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
    "integer": pa.int64(),
}


def utc(text: str) -> dt.datetime:
    """'2025-12-31T23:30:00' read as UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def contact(
    started_at: str,
    *,
    person: str = "p1",
    caisse: str = "011",
    channel: str = "phone",
    direction: str = "inbound",
    motive: str = "remboursement",
    answered: bool | None = None,
    responded_at: str | None = None,
    on_appointment: bool | None = None,
    waited_seconds: int | None = None,
) -> dict:
    return {
        "contact_id": f"c{next(_ids)}",
        "person_key": person,
        "caisse": caisse,
        "channel": channel,
        "direction": direction,
        "motive": motive,
        "started_at": utc(started_at),
        "answered": answered,
        "responded_at": utc(responded_at) if responded_at else None,
        "on_appointment": on_appointment,
        "waited_seconds": waited_seconds,
    }


def person(key: str, caisse: str = "011", account_opened_at: str | None = None) -> dict:
    return {
        "person_key": key,
        "caisse": caisse,
        "account_opened_at": utc(account_opened_at) if account_opened_at else None,
    }


def write_parquet(path: Path, rows: list[dict], schema: dict[str, str]) -> Path:
    arrow = pa.schema([(name, ARROW_TYPES[logical]) for name, logical in schema.items()])
    table = pa.Table.from_pylist(rows, schema=arrow)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_csv(path: Path, rows: list[dict], schema: dict[str, str]) -> Path:
    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.datetime):
            return value.isoformat()
        return str(value)

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(schema))
        for row in rows:
            writer.writerow([text(row[name]) for name in schema])
    return path


def warehouse(tmp_path: Path, contacts: list[dict], persons: list[dict], fmt: str = "parquet"):
    """(contacts path, persons path) of a warehouse holding the given rows."""
    if fmt == "csv":
        return (
            write_csv(tmp_path / "contacts.csv", contacts, CONTACTS_SCHEMA),
            write_csv(tmp_path / "persons.csv", persons, PERSONS_SCHEMA),
        )
    return (
        write_parquet(tmp_path / "contacts.parquet", contacts, CONTACTS_SCHEMA),
        write_parquet(tmp_path / "persons.parquet", persons, PERSONS_SCHEMA),
    )
