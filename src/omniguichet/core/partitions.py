"""Monthly range partitions on PostgreSQL (docs/scale.md, "Partitioned contacts and ledger").

The contact table and the outbound ledger are partitioned by month of a timestamp column on PostgreSQL (SQLite
keeps one table). `partition_by_month` turns an existing table into a partitioned one (the migrations call it);
`create_months_ahead` adds the partitions of the coming months, run daily by the task `core.tasks`
and by the migrations. Each partitioned table also has a default partition, so that no row is ever refused: a
contact dated years back or ahead lands there.

Naming: `<table>_pYYYYMM` for the month starting on the first at 00:00 UTC, `<table>_default` for the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

log = logging.getLogger(__name__)

MONTHS_AHEAD = 3


def month_start(when: dt.datetime | dt.date) -> dt.date:
    return dt.date(when.year, when.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """The months from the one of `first` to the one of `last`, both included."""
    out, month = [], month_start(first)
    while month <= month_start(last):
        out.append(month)
        month = next_month(month)
    return out


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(month: dt.date) -> str:
    return f"'{month:%Y-%m-%d} 00:00:00+00'"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def is_partitioned(table: str, *, using: BaseDatabaseWrapper | None = None) -> bool:
    conn = using or connection
    if conn.vendor != "postgresql":
        return False
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table])
        return cursor.fetchone() is not None


def partitioned_tables() -> dict[str, str]:
    """The range-partitioned tables of the database, each with its partition column (PostgreSQL; {} on SQLite)."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            " WHERE p.partstrat = 'r' AND NOT c.relispartition"
        )
        return dict(cursor.fetchall())


def partitions(table: str) -> list[str]:
    """The partitions of `table`, by name (the default one included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class AheadReport:
    created: list[str] = field(default_factory=list)
    # Months whose rows already sit in the default partition: left there (a partition for them would have to
    # move them first); the task says so in its log.
    skipped: list[str] = field(default_factory=list)


def create_months(table: str, column: str, wanted: list[dt.date]) -> AheadReport:
    """Create the monthly partitions of `table` that are missing among `wanted`."""
    report = AheadReport()
    existing = set(partitions(table))
    default = f"{table}_default"
    with connection.cursor() as cursor:
        for month in wanted:
            name = partition_name(table, month)
            if name in existing:
                continue
            low, high = _bound(month), _bound(next_month(month))
            if default in existing:
                cursor.execute(
                    f"SELECT 1 FROM {_q(default)} WHERE {_q(column)} >= {low} AND {_q(column)} < {high} LIMIT 1"
                )
                if cursor.fetchone():
                    log.warning("partition %s not created: rows of that month are in %s", name, default)
                    report.skipped.append(name)
                    continue
            cursor.execute(
                f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM ({low}) TO ({high})"
            )
            report.created.append(name)
    return report


def create_months_ahead(*, ahead: int = MONTHS_AHEAD, now: dt.datetime | None = None) -> AheadReport:
    """Create the partitions of this month and of the `ahead` next ones, for every partitioned table (nothing on
    SQLite). Idempotent; run daily by the task core.tasks.create_partitions_ahead and by the migrations."""
    now = now or timezone.now()
    first = month_start(now)
    wanted = [first]
    for _ in range(ahead):
        wanted.append(next_month(wanted[-1]))
    report = AheadReport()
    for table, column in partitioned_tables().items():
        done = create_months(table, column, wanted)
        report.created += done.created
        report.skipped += done.skipped
    return report


@dataclass
class _Definitions:
    indexes: list[tuple[str, str, bool]]  # name, definition, unique
    foreign_keys: list[tuple[str, str]]  # name, definition (constraints of this table on others)
    triggers: list[str]  # definitions
    incoming: list[tuple[str, str]]  # (table, constraint) of foreign keys of other tables on this one


def _definitions(cursor, table: str) -> _Definitions:
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary"
        " ORDER BY c.relname",
        [table],
    )
    indexes = [(name, definition, unique) for name, definition, unique in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = to_regclass(%s) AND contype = 'f' ORDER BY conname",
        [table],
    )
    foreign_keys = list(cursor.fetchall())
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal"
        " ORDER BY tgname",
        [table],
    )
    triggers = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint"
        " WHERE confrelid = to_regclass(%s) AND contype = 'f' ORDER BY 1, 2",
        [table],
    )
    incoming = list(cursor.fetchall())
    own = {constraint for other, constraint in incoming if other == table}  # on itself: dropped, not copied
    foreign_keys = [(name, definition) for name, definition in foreign_keys if name not in own]
    return _Definitions(indexes, foreign_keys, triggers, incoming)


def partition_by_month(
    schema_editor, *, table: str, column: str, drop_unique: tuple[str, ...] = (), ahead: int = MONTHS_AHEAD
) -> list[str]:
    """Turn `table` into a table range-partitioned by month of `column` (PostgreSQL), keeping its rows, columns,
    checks, indexes, foreign keys, triggers and id sequence. The primary key becomes (id, column): PostgreSQL
    wants the partition column in every unique index. The unique indexes named in `drop_unique` are dropped (the
    caller keeps their rule another way, e.g. a key table); any other unique index gets the column appended.
    Foreign keys of other tables on this one are dropped (they need a unique id alone): the caller must have
    declared them `db_constraint=False`. A partition per month from the oldest row to `ahead` months from now,
    and a default one. Returns the foreign keys dropped, as "table.constraint"."""
    old = f"{table}__unpartitioned"
    with schema_editor.connection.cursor() as cursor:
        defs = _definitions(cursor, table)
        for other, constraint in defs.incoming:
            cursor.execute(f"ALTER TABLE {_q(other)} DROP CONSTRAINT {_q(constraint)}")
        cursor.execute(f"SELECT min({_q(column)}), max(id) FROM {_q(table)}")
        oldest, max_id = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
        cursor.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            f" INCLUDING STORAGE) PARTITION BY RANGE ({_q(column)})"
        )
        now = timezone.now()
        last = now
        for _ in range(ahead):
            last = dt.datetime.combine(next_month(month_start(last)), dt.time(), dt.UTC)
        first = min(oldest, now) if oldest else now
        for month in months(first, last):
            low, high = _bound(month), _bound(next_month(month))
            name = partition_name(table, month)
            cursor.execute(
                f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM ({low}) TO ({high})"
            )
        cursor.execute(f"CREATE TABLE {_q(table + '_default')} PARTITION OF {_q(table)} DEFAULT")
        # Rows first, indexes after: building an index once is faster than maintaining it row by row.
        cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
        cursor.execute(f"DROP TABLE {_q(old)}")
        sequence = f"{table}_id_seq"
        cursor.execute(f"CREATE SEQUENCE {_q(sequence)} AS bigint START WITH {(max_id or 0) + 1}")
        cursor.execute(f"ALTER SEQUENCE {_q(sequence)} OWNED BY {_q(table)}.id")
        cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        cursor.execute(
            f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id, {_q(column)})"
        )
        for name, definition, unique in defs.indexes:
            if name in drop_unique:
                continue
            definition = definition.replace(f" ON public.{old} ", f" ON {_q(table)} ").replace(
                f" ON {old} ", f" ON {_q(table)} "
            )
            if unique:  # the partition column joins the key (before any WHERE clause)
                head, sep, tail = definition.partition(") WHERE ")
                if sep:
                    definition = f"{head}, {_q(column)}) WHERE {tail}"
                else:
                    definition = definition[: definition.rindex(")")] + f", {_q(column)})"
            cursor.execute(definition)
        for name, definition in defs.foreign_keys:
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        for definition in defs.triggers:
            cursor.execute(
                definition.replace(f" ON public.{old} ", f" ON {_q(table)} ").replace(
                    f" ON {old} ", f" ON {_q(table)} "
                )
            )
        cursor.execute(f"ANALYZE {_q(table)}")
    return [f"{other}.{constraint}" for other, constraint in defs.incoming]
