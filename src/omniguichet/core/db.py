"""Database helpers shared by the apps. PostgreSQL-only accelerations sit here, each with its SQLite path."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


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
        # The array goes as its literal text ('{1,2}', '{"a","b"}'), built here: psycopg's client-side quoting
        # of a Python list costs ~3 µs an element (30 ms for 10,000), the literal a few hundred µs.
        return RawSQL(f"SELECT unnest(%s::{of}[])", [array_literal(items)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(items)])


def array_literal(items: Sequence[Any]) -> str:
    """A PostgreSQL array literal of integers or strings (every string quoted and escaped)."""
    return (
        "{"
        + ",".join(
            str(int(v)) if isinstance(v, int) else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in items
        )
        + "}"
    )


class PreparedQuery(Generic[M]):
    """A read query built with the ORM, compiled to SQL once, then run again with new parameter values.

    Compiling a queryset (joins, lookups, ordering) costs more than running it when it is an indexed lookup: on
    the hottest paths (token check, the customer record, person search) it was half of the request. `build`
    takes the "shape" arguments positionally (what changes the SQL: a scope, a limit, an optional filter) and
    the parameters as keywords; it is called once per database and shape with placeholder values, which are
    then found in the compiled parameters and replaced at each run. Parameters may be int, str (also inside a
    LIKE pattern: `__startswith`), date or aware datetime. Rows become model instances the way Django's own
    iterator makes them, select_related and annotations included.
    """

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[tuple[Hashable, ...], _Compiled] = {}

    def __call__(self, *shape: Hashable, **params: Any) -> list[M]:
        connection = connections[DEFAULT_DB_ALIAS]
        key = (connection.vendor, connection.settings_dict["NAME"], *shape)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled.of(self._build, shape, params, connection)
        return compiled.run(connection, params)


def _placeholder(name: str, value: Any, index: int) -> Any:
    if isinstance(value, bool):
        raise TypeError(f"PreparedQuery parameter {name}: booleans are shape, not parameters")
    if isinstance(value, int):
        return 7_919_000_000_000 + index
    if isinstance(value, str):
        return f"\x1fp{index}\x1f"
    if isinstance(value, dt.datetime):
        return dt.datetime(1901, 1, 1, 1, 1, index, tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.date(1901, 1, 1 + index)
    raise TypeError(f"PreparedQuery parameter {name}: unsupported type {type(value).__name__}")


@dataclass
class _Compiled:
    sql: str
    slots: list[tuple[str | None, str, Any]]  # (parameter name, how to adapt it, constant or LIKE pattern)
    compiler: Any
    converters: dict
    init_list: list[str]
    fields_start: int
    fields_end: int
    populators: list
    annotations: dict[str, int]
    model: type[Model]

    @classmethod
    def of(
        cls, build: Callable[..., QuerySet], shape: tuple, params: dict[str, Any], connection: Any
    ) -> _Compiled:
        placeholders = {name: _placeholder(name, value, i) for i, (name, value) in enumerate(params.items())}
        adapted = {}
        for name, placeholder in placeholders.items():
            if isinstance(placeholder, dt.datetime):
                adapted[connection.ops.adapt_datetimefield_value(placeholder)] = (name, "datetime")
            elif isinstance(placeholder, dt.date):
                adapted[connection.ops.adapt_datefield_value(placeholder)] = (name, "date")
            else:
                adapted[placeholder] = (name, "plain")
        queryset = build(*shape, **placeholders)
        compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, compiled_params = compiler.as_sql()
        slots: list[tuple[str | None, str, Any]] = []
        for param in compiled_params:
            if isinstance(param, Hashable) and param in adapted:
                name, how = adapted[param]
                slots.append((name, how, None))
                continue
            like = next((n for p, (n, _h) in adapted.items() if isinstance(p, str) and isinstance(param, str)
                         and p in param), None)  # fmt: skip
            if like is not None:
                slots.append((like, "like", (param, str(placeholders[like]))))
            else:
                slots.append((None, "constant", param))
        missing = set(params) - {name for name, _h, _c in slots if name}
        if missing:
            raise ValueError(f"PreparedQuery parameters not found in the compiled SQL: {sorted(missing)}")
        # As Django's ModelIterable does it (select_related populators, annotations).
        select, klass_info = compiler.select, compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        return cls(
            sql=sql,
            slots=slots,
            compiler=compiler,
            converters=compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
            init_list=[f[0].target.attname for f in select[start:end]],
            fields_start=start,
            fields_end=end,
            populators=get_related_populators(klass_info, select, DEFAULT_DB_ALIAS),  # type: ignore[call-arg]  # stubs are ahead of 5.2
            annotations=dict(compiler.annotation_col_map or {}),
            model=klass_info["model"],
        )

    def run(self, connection: Any, values: dict[str, Any]) -> list:
        if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in values.values()):
            return []  # no 64-bit column holds it (the ORM answers the same for an equality lookup)
        params: list[Any] = []
        for name, how, extra in self.slots:
            if name is None:
                params.append(extra)
            elif how == "datetime":
                params.append(connection.ops.adapt_datetimefield_value(values[name]))
            elif how == "date":
                params.append(connection.ops.adapt_datefield_value(values[name]))
            elif how == "like":
                pattern, placeholder = extra
                params.append(pattern.replace(placeholder, connection.ops.prep_for_like_query(values[name])))
            else:
                params.append(values[name])
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        objects = []
        for row in rows:
            obj = self.model.from_db(
                DEFAULT_DB_ALIAS, self.init_list, row[self.fields_start : self.fields_end]
            )
            for populator in self.populators:
                populator.populate(row, obj)
            for attr, position in self.annotations.items():
                setattr(obj, attr, row[position])
            objects.append(obj)
        return objects


_insert_sql: dict[tuple[str, str, tuple[str, ...]], str] = {}


def insert_row(model: type[Model], **values: Any) -> None:
    """Insert one row with its SQL built once per table and columns: for the audit entry written by every
    opening of a record (Model.objects.create compiles an INSERT each time). No signals, no save(); datetimes
    are adapted here, other values must be plain (ids, strings, numbers)."""
    columns = tuple(values)
    key = (connection.alias, model._meta.db_table, columns)
    sql = _insert_sql.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        sql = _insert_sql[key] = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(v) if isinstance(v, dt.datetime) else v for v in values.values()]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


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
        # The sequence named once: pg_get_serial_sequence as nextval's argument was looked up in the catalogue
        # for every id (50 ms for 10,000 ids against 7 ms; bench/ingest.py).
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq)"
            " SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
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
            # The index of a partitioned table reads "CREATE INDEX … ON ONLY <table>": run as is, it would create
            # an empty, invalid index on the parent alone and leave every partition without it. Without ONLY it
            # is built on every partition (the contacts are partitioned by month on PostgreSQL).
            return [(name, sql.replace(" ON ONLY ", " ON ", 1)) for name, sql in cursor.fetchall()]
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


def update_rows(objects: list[Any], fields: list[str]) -> None:
    """Save these fields of many rows: one UPDATE joined to the rows sent as JSON on PostgreSQL, one prepared
    UPDATE run for each row (executemany) on SQLite; both much faster than bulk_update's CASE expressions."""
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    qn = connection.ops.quote_name
    if is_postgresql():
        # One statement for all the rows, which travel as ONE JSON parameter (rows of [id, values...]) that the
        # server turns into typed rows: an executemany is a round trip of work per row, and psycopg's quoting
        # of Python lists costs more than the update itself.
        keyed = [meta.pk, *columns]
        if all(f.get_internal_type() in _PLAIN_FIELDS for f in keyed):  # the values are what JSON carries
            names = [f.attname for f in keyed]
            try:  # the values as loaded or set (no descriptor per field), as long as none is deferred
                from_dict = operator.itemgetter(*names)
                values = [from_dict(obj.__dict__) for obj in objects]
            except KeyError:
                from_attributes = operator.attrgetter(*names)
                values = [from_attributes(obj) for obj in objects]
        else:
            db = connections[DEFAULT_DB_ALIAS]
            values = [[f.get_db_prep_save(getattr(obj, f.attname), db) for f in keyed] for obj in objects]
        rows = json.dumps(values, default=_json_value)
        selects = ", ".join(f"(r->>{i})::{f.cast_db_type(connection)} AS c{i}" for i, f in enumerate(keyed))
        assignments = ", ".join(f"{qn(f.column)} = v.c{i}" for i, f in enumerate(keyed) if i)
        sql = (
            f"UPDATE {qn(meta.db_table)} SET {assignments} "
            f"FROM (SELECT {selects} FROM json_array_elements(%s::json) AS r) AS v "
            f"WHERE {qn(meta.db_table)}.{qn(meta.pk.column)} = v.c0"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [rows])
        return
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in columns)
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


_PLAIN_FIELDS = frozenset({
    "AutoField", "BigAutoField", "CharField", "SlugField", "TextField", "IntegerField", "BigIntegerField",
    "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "BooleanField", "DateField",
    "DateTimeField", "ForeignKey",
})  # fmt: skip


def _json_value(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"update_rows cannot send {type(value).__name__}")


# --- writes that must survive the rollback of the operation they refuse ----------------------------------------
_kept_on_rollback: ContextVar[list[Callable[[], Any]] | None] = ContextVar("kept_on_rollback", default=None)


@contextmanager
def writes_kept_on_rollback() -> Iterator[None]:
    """Around a transaction that may be rolled back (a request that runs a handler in one transaction): the
    writes registered inside it with `keep_on_rollback` — the counters of a failed guess: a wrong code's attempt,
    the throttle's count, the audit row — are written again after the rollback, so that a refusal raised inside a
    transaction still counts. Use it outside the `transaction.atomic()` block."""
    token = _kept_on_rollback.set([])
    try:
        yield
    except BaseException:
        for write in _kept_on_rollback.get() or []:
            write()
        raise
    finally:
        _kept_on_rollback.reset(token)


def keep_on_rollback(write: Callable[[], Any]) -> None:
    """Register a write just made that must stay even if the enclosing transaction is rolled back (see above).
    Outside `writes_kept_on_rollback`, or outside any transaction, the write is already permanent."""
    pending = _kept_on_rollback.get()
    if pending is not None and connection.in_atomic_block:
        pending.append(write)


# Ids outside a 64-bit integer name nothing (and must not reach SQLite, which overflows on them).
MAX_ROW_ID = 2**63 - 1


def apply_each(
    queryset: QuerySet, ids: Sequence[int], apply: Callable[[Any], None], *, missing: str
) -> tuple[list[tuple[int, bool, str]], list[Any]]:
    """A bulk action, answered row by row: lock the rows of `queryset` with these ids (in one transaction, which
    the caller may extend with its own work), apply to each; a row not found is refused with `missing`, a
    ServiceError raised by `apply` is that row's refusal, not the batch's. Returns ((id, done, reason) for each id in
    the order given, the rows done)."""
    from django.db import transaction

    from omniguichet.core.errors import ServiceError

    results: list[tuple[int, bool, str]] = []
    done: list[Any] = []
    with transaction.atomic():
        found = {
            row.pk: row
            for row in queryset.select_for_update().filter(pk__in=[i for i in ids if 0 < i <= MAX_ROW_ID])
        }
        for pk in ids:
            row = found.get(pk)
            if row is None:
                results.append((pk, False, missing))
                continue
            try:
                apply(row)
            except ServiceError as exc:
                results.append((pk, False, exc.message))
            else:
                results.append((pk, True, ""))
                done.append(row)
    return results, done


def encode_keyset(moment: dt.datetime, pk: int) -> str:
    """A keyset pagination cursor: the last row's sort instant and id, opaque to the caller."""
    import base64

    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode()


def decode_keyset(cursor: str) -> tuple[dt.datetime, int]:
    """The (instant, id) of a cursor given by `encode_keyset`; anything else is refused on the field "cursor"."""
    import base64

    from django.utils import timezone
    from django.utils.translation import gettext as _

    from omniguichet.core.errors import InvalidInput

    try:
        when, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = dt.datetime.fromisoformat(when)
        if timezone.is_naive(moment) or not 0 < int(pk) <= MAX_ROW_ID:
            raise ValueError
        return moment, int(pk)
    except (ValueError, UnicodeError, TypeError):
        raise InvalidInput.from_fields({"cursor": _("invalid cursor")}) from None
