"""Database helpers shared by the apps. PostgreSQL-only accelerations sit here, each with its SQLite path."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import RawSQL


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def values_subquery(values: Iterable[int] | Iterable[str], *, of: str) -> RawSQL:
    """A subquery yielding `values`, passed to the database as ONE parameter, for `field__in=`.

    A 10,000-item IN list means 10,000 parameters to prepare and send: more work than the query itself.
    PostgreSQL unnests an array; SQLite walks a JSON array. `of` is "bigint" or "text".
    """
    if of not in ("bigint", "text"):
        raise ValueError(f"values_subquery of bigint or text, not {of!r}")
    items = list(values)
    if is_postgresql():
        return RawSQL(f"SELECT unnest(%s::{of}[])", [items])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(items)])


def bulk_insert_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert raw rows (values already adapted with adapt_value) into a model's table, as fast as the database
    allows: COPY on PostgreSQL, executemany on SQLite. No signals, no save(): for seeds and imports only."""
    table = connection.ops.quote_name(model._meta.db_table)
    column_list = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if is_postgresql():
            # The raw psycopg cursor: its errors are turned into Django's (IntegrityError...) here.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", rows)  # type: ignore[arg-type]


def reserve_ids(model: type[Model], count: int) -> list[int] | None:
    """Take `count` ids from the table's sequence (PostgreSQL), so rows loaded by COPY need no read-back to learn
    their ids. None on SQLite, where the caller reads the ids back."""
    if not is_postgresql() or count == 0:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


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


def _secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the non-unique indexes of these tables. Unique ones are never touched, so
    uniqueness stays enforced while a load runs."""
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix "
                "JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid "
                "WHERE t.relname = ANY(%s) AND NOT ix.indisunique AND NOT ix.indisprimary",
                [tables],
            )
            return list(cursor.fetchall())
        placeholders = ", ".join(["%s"] * len(tables))
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN ({placeholders})",
            tables,
        )
        return list(cursor.fetchall())


@contextmanager
def secondary_indexes_deferred(models: Sequence[type[Model]]) -> Iterator[None]:
    """Drop the non-unique indexes of the tables during a bulk load and build them once at the end, which is
    about a third faster than maintaining them row by row. Must run inside a transaction: if the load fails or
    the process dies, the rollback brings the indexes back with the tables as they were."""
    if not connection.in_atomic_block:
        raise RuntimeError("secondary_indexes_deferred() needs an enclosing transaction.atomic()")
    indexes = _secondary_indexes([m._meta.db_table for m in models])
    with connection.cursor() as cursor:
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        if is_postgresql():
            # Foreign keys are checked at commit (deferred); PostgreSQL will not build an index on a table with
            # checks pending, so run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, sql in indexes:
            cursor.execute(sql)
