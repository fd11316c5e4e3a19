"""Database helpers shared by the apps. PostgreSQL-only accelerations sit here, each with its SQLite path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import Model


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def bulk_insert_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert raw rows (values already adapted with adapt_value) into a model's table, as fast as the database
    allows: COPY on PostgreSQL, executemany on SQLite. No signals, no save(): for seeds and imports only."""
    table = connection.ops.quote_name(model._meta.db_table)
    column_list = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if is_postgresql():
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", rows)  # type: ignore[arg-type]


def reset_id_sequence(model: type[Model]) -> None:
    """After rows were inserted with explicit ids, make the next automatic id follow them (PostgreSQL only;
    SQLite always continues after the largest id)."""
    if not is_postgresql():
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM "
            + connection.ops.quote_name(table)
            + "), 1))",
            [table],
        )


@contextmanager
def fast_bulk_load():
    """Relax durability while a seed loads synthetic data (SQLite: no fsync; PostgreSQL: asynchronous commit).
    A crash in the middle loses the load, never the data that was there before. Inside an outer transaction
    (tests) SQLite cannot change it, and nothing is relaxed."""
    if connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute("SET synchronous_commit TO OFF")
        else:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.execute("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if is_postgresql():
                cursor.execute("SET synchronous_commit TO ON")
            else:
                cursor.execute("PRAGMA synchronous=NORMAL")
