"""The seven steering indicators, computed with DuckDB over the pseudonymised contact warehouse.

This module knows nothing of Django: the `kpi` command, the dashboards and the bench call it with the paths of a
`contacts` and a `persons` source (Parquet file, directory of Parquet part files, glob, or CSV file) in the
documented schema (docs/analytics.md). Every definition below follows issue 8 to the letter:

- a contact belongs to a period by its started_at in Europe/Paris local time; the UTC bounds of every local
  month are computed here with zoneinfo, so DST days and New Year's Eve at 23:30 UTC fall where they should;
- only inbound contacts count (account_rate counts persons);
- value = numerator / denominator, None when the denominator is 0;
- the target of year Y is the national value of Y-1 pooled over all caisses (sum of numerators over sum of
  denominators), the same for every month of Y;
- met = value and target not None and value >= target (<= for recontact_rate);
- bonus points of a caisse for Y = the sum of the weights of the indicators met on the year.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from omniguichet.analytics.sources import PARTITION_KEYS as PARTITION_KEYS
from omniguichet.analytics.sources import PARTITION_RE as PARTITION_RE
from omniguichet.analytics.sources import SchemaError as SchemaError
from omniguichet.analytics.sources import _files as _files
from omniguichet.analytics.sources import hive_months as hive_months

if TYPE_CHECKING:
    # DuckDB is imported where it is used (connect, load_source): start-up and the URL conf never pay it.
    import duckdb


PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC

INDICATORS = (
    "demat_rate",
    "recontact_rate",
    "account_rate",
    "phone_answer_rate",
    "email_48h_rate",
    "appointment_share",
    "reception_20min_rate",
)
LOWER_IS_BETTER = frozenset({"recontact_rate"})
DEMAT_MOTIVES = (
    "attestation_droits",
    "releve_remboursements",
    "carte_europeenne",
    "attestation_ij",
    "changement_adresse",
    "changement_rib",
)
SELF_SERVICE = ("web", "app", "kiosk")
# Positions are stored in the warehouse's packed keys: a new channel goes at the end.
CHANNELS = ("web", "app", "kiosk", "phone", "email", "reception", "letter", "sms", "push", "secure_message")
DIRECTIONS = ("inbound", "outbound")
RECONTACT_WINDOW_SECONDS = 604_800
EMAIL_DELAY_SECONDS = 172_800
RECEPTION_WAIT_SECONDS = 1_200
CAISSE_PATTERN = r"^[0-9][0-9AB][0-9]$"
FLAG_DEMAT, FLAG_ANSWERED, FLAG_EMAIL_48H, FLAG_APPOINTMENT, FLAG_WAIT_KNOWN, FLAG_WAIT_20MIN = (
    1,
    2,
    4,
    8,
    16,
    32,
)

# The documented schema: column -> logical type. Nullable columns may hold nulls; the others may not.
CONTACTS_SCHEMA = {
    "contact_id": "string",
    "person_key": "string",
    "caisse": "string",
    "channel": "string",
    "direction": "string",
    "motive": "string",
    "started_at": "timestamp",
    "answered": "boolean",
    "responded_at": "timestamp",
    "on_appointment": "boolean",
    "waited_seconds": "integer",
}
CONTACTS_NULLABLE = frozenset({"answered", "responded_at", "on_appointment", "waited_seconds"})
PERSONS_SCHEMA = {"person_key": "string", "caisse": "string", "account_opened_at": "timestamp"}
PERSONS_NULLABLE = frozenset({"account_opened_at"})

# DuckDB types accepted in Parquet for each logical type.
_PARQUET_TYPES = {
    "string": {"VARCHAR"},
    "timestamp": {
        "TIMESTAMP",
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP_NS",
        "TIMESTAMP_MS",
        "TIMESTAMP_S",
    },
    "boolean": {"BOOLEAN"},
    "integer": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"},
}
# How each logical type is read: CSV columns are read as text and cast (timestamps without an offset are UTC).
_SQL_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "boolean": "BOOLEAN", "integer": "BIGINT"}


@dataclass(frozen=True)
class IndicatorValue:
    caisse: str
    period: str
    indicator: str
    numerator: int
    denominator: int
    value: float | None
    target: float | None
    met: bool


@dataclass(frozen=True)
class Bonus:
    caisse: str
    year: int
    points: float
    indicators_met: tuple[str, ...]


@dataclass(frozen=True)
class ChannelCount:
    caisse: str
    period: str
    channel: str
    contacts: int


@dataclass
class KpiResult:
    """Everything computed for one year: per caisse by year and by month, targets, bonus and channel mix."""

    year: int
    yearly: list[IndicatorValue]
    monthly: list[IndicatorValue]
    targets: dict[str, float | None]
    bonus: list[Bonus]
    channel_mix: list[ChannelCount]
    weights: dict[str, float] = field(default_factory=dict)

    def rows(self, by: str = "year") -> list[IndicatorValue]:
        return self.yearly if by == "year" else self.monthly

    def caisses(self) -> list[str]:
        return sorted({row.caisse for row in self.yearly})

    def national(self, by: str = "year") -> list[IndicatorValue]:
        """The pooled national value of each indicator and period (the caisse column reads "national")."""
        sums: dict[tuple[str, str], list[int]] = {}
        for row in self.rows(by):
            acc = sums.setdefault((row.period, row.indicator), [0, 0])
            acc[0] += row.numerator
            acc[1] += row.denominator
        return [
            indicator_value("national", period, indicator, num, den, self.targets.get(indicator))
            for (period, indicator), (num, den) in sorted(sums.items())
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KpiResult:
        return cls(
            year=data["year"],
            yearly=[IndicatorValue(**row) for row in data["yearly"]],
            monthly=[IndicatorValue(**row) for row in data["monthly"]],
            targets=dict(data["targets"]),
            bonus=[Bonus(**{**row, "indicators_met": tuple(row["indicators_met"])}) for row in data["bonus"]],
            channel_mix=[ChannelCount(**row) for row in data["channel_mix"]],
            weights=dict(data.get("weights", {})),
        )


def is_met(indicator: str, value: float | None, target: float | None) -> bool:
    if value is None or target is None:
        return False
    return value <= target if indicator in LOWER_IS_BETTER else value >= target


def indicator_value(
    caisse: str, period: str, indicator: str, num: int, den: int, target: float | None
) -> IndicatorValue:
    value = num / den if den else None
    return IndicatorValue(
        caisse, period, indicator, num, den, value, target, is_met(indicator, value, target)
    )


def parse_weights(spec: str | Mapping[str, Any] | None) -> dict[str, float]:
    """Bonus weights: "demat_rate=2,recontact_rate=0.5" or a mapping; unnamed indicators weigh 1."""
    weights = dict.fromkeys(INDICATORS, 1.0)
    if spec is None or spec == "":
        return weights
    items: Iterable[tuple[str, Any]]
    if isinstance(spec, str):
        pairs = []
        for part in spec.split(","):
            name, sep, raw = part.partition("=")
            if not sep:
                raise ValueError(f"weight {part.strip()!r}: expected indicator=number")
            pairs.append((name.strip(), raw.strip()))
        items = pairs
    else:
        items = spec.items()
    for name, raw in items:
        if name not in weights:
            raise ValueError(f"weight {name!r}: unknown indicator (one of {', '.join(INDICATORS)})")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"weight {name!r}: {raw!r} is not a number") from None
        if not (number >= 0 and number != float("inf")):
            raise ValueError(f"weight {name!r}: must be a finite number zero or more")
        weights[name] = number
    return weights


# --------------------------------------------------------------------------------------------------- periods
def month_bounds(year: int) -> list[dt.datetime]:
    """The 13 naive-UTC instants at which the local (Europe/Paris) months of `year` start, then the year ends."""
    bounds = []
    for month in range(1, 14):
        y, m = (year, month) if month <= 12 else (year + 1, 1)
        local = dt.datetime(y, m, 1, tzinfo=PARIS)
        bounds.append(local.astimezone(UTC).replace(tzinfo=None))
    return bounds


def _ts(value: dt.datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


# --------------------------------------------------------------------------------------------------- sources
def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join("'" + v + "'" for v in values) + ")"


def load_source(
    con: duckdb.DuckDBPyConnection,
    *,
    role: str,
    path: str | os.PathLike[str],
    schema: Mapping[str, str],
    nullable: frozenset[str],
    check_values: bool = True,
    months: tuple[str, str] | None = None,
) -> None:
    """Create the view `role` over the source with the documented column types, or raise SchemaError.

    `months` = (first, last) "YYYY-MM": on a directory laid out by month, only those month folders are read
    (partition pruning); other sources are read whole (the queries filter on started_at)."""
    import duckdb

    kind, files = _files(role, path, months)
    if kind == "hive" and not files:  # no month of the range: an empty source of the right types
        empty = ", ".join(
            f"NULL::{'TIMESTAMP' if logical == 'timestamp' else _SQL_TYPES[logical]} AS {name}"
            for name, logical in schema.items()
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {role} AS SELECT {empty} WHERE false")
        return
    keys: list[str] = []
    if kind == "hive":
        keys = sorted(
            {
                match.group(1)
                for f in files
                for part in Path(f).relative_to(path).parts[:-1]
                if (match := PARTITION_RE.match(part))
            }
        )
        types = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in keys) + "}"
        raw = f"read_parquet({_sql_list(files)}, hive_partitioning = true, hive_types = {types})"
    elif kind == "parquet":
        raw = f"read_parquet({_sql_list(files)}, hive_partitioning = false)"
    else:
        raw = f"read_csv({_sql_list(files)}, header = true, all_varchar = true, auto_detect = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()
    except duckdb.Error as exc:
        raise SchemaError(f"{role}: cannot read {files[0]}: {exc}") from None
    columns = {name: str(typ).upper() for name, typ, *_ in described if name in schema or name not in keys}
    for name in schema:
        if name not in columns:
            raise SchemaError(f"{role}: column {name!r} is missing (expected: {', '.join(schema)})")
    for name in columns:
        if name not in schema:
            raise SchemaError(f"{role}: column {name!r} is not in the schema (expected: {', '.join(schema)})")
    if kind != "csv":
        for name, logical in schema.items():
            if columns[name] not in _PARQUET_TYPES[logical]:
                raise SchemaError(f"{role}: column {name!r} has type {columns[name]}, expected {logical}")
    else:
        # CSV: every non-empty value must cast to its column's type.
        checks = [
            f"count(*) FILTER (WHERE {name} IS NOT NULL AND TRY_CAST({name} AS {_SQL_TYPES[logical]}) IS NULL)"
            f", any_value({name}) FILTER (WHERE {name} IS NOT NULL AND TRY_CAST({name} AS {_SQL_TYPES[logical]})"
            " IS NULL)"
            for name, logical in schema.items()
            if logical != "string"
        ]
        typed = [name for name, logical in schema.items() if logical != "string"]
        if checks:
            found = con.execute(f"SELECT {', '.join(checks)} FROM {raw}").fetchone()
            assert found is not None
            for i, name in enumerate(typed):
                bad, example = found[2 * i], found[2 * i + 1]
                if bad:
                    raise SchemaError(
                        f"{role}: column {name!r}: {bad} value(s) are not of type {schema[name]} "
                        f"(e.g. {example!r})"
                    )
    select = []
    for name, logical in schema.items():
        typ = columns[name] if kind != "csv" else "VARCHAR"
        if logical == "timestamp":
            # Normalised to naive UTC without a time-zone conversion per row (a cast through TIMESTAMPTZ goes
            # through ICU: 2 s of CPU on 10 M contacts), and left as it is when it already is, so that DuckDB
            # can push the period filter down to the Parquet row groups.
            if typ == "TIMESTAMP":
                select.append(name)
            elif typ == "TIMESTAMP WITH TIME ZONE":
                select.append(f"make_timestamp(epoch_us({name})) AS {name}")
            elif kind != "csv":
                select.append(f"CAST({name} AS TIMESTAMP) AS {name}")
            else:  # CSV text: an offset, or none (UTC: the connection's time zone)
                select.append(f"make_timestamp(epoch_us(CAST({name} AS TIMESTAMPTZ))) AS {name}")
        elif typ == _SQL_TYPES[logical]:
            select.append(name)
        else:
            select.append(f"CAST({name} AS {_SQL_TYPES[logical]}) AS {name}")
    # The month filter is also given to DuckDB, which prunes the files by their folder (EXPLAIN ANALYZE: "File
    # Filters", "Scanning Files: k/n") when it is handed a wider list.
    where = f" WHERE month BETWEEN '{months[0]}' AND '{months[1]}'" if months and "month" in keys else ""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {role} AS SELECT {', '.join(select)} FROM {raw}{where}")
    if check_values:
        _check_values(con, role, schema, nullable, files if kind != "csv" else None)


def _check_values(
    con: duckdb.DuckDBPyConnection,
    role: str,
    schema: Mapping[str, str],
    nullable: frozenset[str],
    parquet_files: list[str] | None = None,
) -> None:
    """Required columns hold no null; caisse codes, channels and directions are valid; waits are not negative.

    Cheap on large warehouses: null counts come from the Parquet statistics when every row group has them,
    and the coded columns are checked on their few distinct values.
    """
    required = [name for name in schema if name not in nullable]
    null_counts: dict[str, int] = {}
    if parquet_files:
        stats = con.execute(
            "SELECT path_in_schema, sum(stats_null_count), count(*) FILTER (WHERE stats_null_count IS NULL) "
            f"FROM parquet_metadata({_sql_list(parquet_files)}) GROUP BY path_in_schema"
        ).fetchall()
        null_counts = {name: int(nulls or 0) for name, nulls, missing in stats if not missing}
    unknown = [name for name in required if name not in null_counts]
    if unknown:
        found = con.execute(
            f"SELECT {', '.join(f'count(*) - count({n})' for n in unknown)} FROM {role}"
        ).fetchone()
        assert found is not None
        null_counts.update(zip(unknown, found, strict=True))
    for name in required:
        if null_counts.get(name):
            raise SchemaError(f"{role}: column {name!r}: {null_counts[name]} row(s) where the value is empty")
    coded = ["caisse"] + [name for name in ("channel", "direction") if name in schema]
    allowed: dict[str, Callable[[str], bool]] = {
        "caisse": lambda v: re.fullmatch(CAISSE_PATTERN, v) is not None,
        "channel": lambda v: v in CHANNELS,
        "direction": lambda v: v in DIRECTIONS,
    }
    reasons = {
        "caisse": "is not a 3-character caisse code",
        "channel": f"is not one of {', '.join(CHANNELS)}",
        "direction": f"is not one of {', '.join(DIRECTIONS)}",
    }
    for name in coded:
        values = [v for (v,) in con.execute(f"SELECT DISTINCT {name} FROM {role}").fetchall()]
        bad = sorted(v for v in values if v is not None and not allowed[name](v))
        if bad:
            found = con.execute(
                f"SELECT count(*) FROM {role} WHERE {name} IN ({', '.join('?' * len(bad))})", bad
            ).fetchone()
            assert found is not None
            raise SchemaError(
                f"{role}: column {name!r}: {found[0]} row(s) where the value {reasons[name]} (e.g. {bad[0]!r})"
            )
    if "waited_seconds" in schema:
        found = con.execute(f"SELECT count(*) FROM {role} WHERE waited_seconds < 0").fetchone()
        if found and found[0]:
            raise SchemaError(
                f"{role}: column 'waited_seconds': {found[0]} row(s) where the value is negative"
            )


def connect(*, memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


# --------------------------------------------------------------------------------------------------- compute
def compute(
    *,
    contacts: str | os.PathLike[str],
    persons: str | os.PathLike[str],
    year: int,
    weights: Mapping[str, float] | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    check_values: bool = True,
) -> KpiResult:
    """All indicators of `year` (by year and by month) for every caisse, with targets from year-1 and bonus."""
    weights = parse_weights(weights)
    con = connect(memory_limit=memory_limit, threads=threads)
    try:
        load_source(
            con,
            role="contacts",
            path=contacts,
            schema=CONTACTS_SCHEMA,
            nullable=CONTACTS_NULLABLE,
            check_values=check_values,
            # Partition pruning: the months of year-1 (targets), of the year, and the first of the next year
            # (the recontact window of the year's last week).
            months=(f"{year - 1}-01", f"{year + 1}-01"),
        )
        load_source(
            con,
            role="persons",
            path=persons,
            schema=PERSONS_SCHEMA,
            nullable=PERSONS_NULLABLE,
            check_values=check_values,
        )
        return _compute(con, year, weights)
    finally:
        con.close()


def _compute(con: duckdb.DuckDBPyConnection, year: int, weights: dict[str, float]) -> KpiResult:
    # 24 local months: those of year-1 (for the targets) then those of year.
    bounds = month_bounds(year - 1)[:12] + month_bounds(year)
    labels = [f"{year - 1}-{m:02d}" for m in range(1, 13)] + [f"{year}-{m:02d}" for m in range(1, 13)]
    lo, hi = bounds[0], bounds[-1]
    # The local month of a contact (0-23, 24 for the week after the year used by the recontact rule): how many
    # month starts it is at or after (exact, branch-free).
    month_index = " + ".join(f"(started_at >= {_ts(b)})::INTEGER" for b in bounds[1:25])
    # What each inbound contact contributes to the indicators, as bits of one small integer.
    flags = f"""
        list_contains({_sql_list(DEMAT_MOTIVES)}, motive)::INTEGER * {FLAG_DEMAT}
        + coalesce(answered, false)::INTEGER * {FLAG_ANSWERED}
        + coalesce(responded_at >= started_at
                   AND responded_at <= started_at + INTERVAL {EMAIL_DELAY_SECONDS} SECONDS, false)::INTEGER
          * {FLAG_EMAIL_48H}
        + coalesce(on_appointment, false)::INTEGER * {FLAG_APPOINTMENT}
        + (waited_seconds IS NOT NULL)::INTEGER * {FLAG_WAIT_KNOWN}
        + coalesce(waited_seconds <= {RECEPTION_WAIT_SECONDS}, false)::INTEGER * {FLAG_WAIT_20MIN}
    """
    # The window sorts every inbound contact of two years: it carries only its keys, the caisse and one
    # integer packing the month, the channel and the flags (month << 12 | channel << 6 | flags).
    packed = f"({month_index}) * 4096 + (list_position({_sql_list(CHANNELS)}, channel) - 1) * 64 + ({flags})"
    sql = f"""
    WITH base AS (
        SELECT person_key, motive, started_at, caisse, {packed} AS packed
        FROM contacts
        WHERE direction = 'inbound' AND started_at >= {_ts(lo)}
          AND started_at <= {_ts(hi)} + INTERVAL {RECONTACT_WINDOW_SECONDS} SECONDS
    ), flagged AS (
        -- The latest inbound contact of the same person and motive within [started_at, +604,800 s]: the
        -- contact is followed up when that one is strictly later (same-instant contacts are not follow-ups).
        SELECT caisse, packed, max(started_at) OVER (
            PARTITION BY person_key, motive ORDER BY started_at
            RANGE BETWEEN CURRENT ROW AND INTERVAL {RECONTACT_WINDOW_SECONDS} SECONDS FOLLOWING
        ) > started_at AS recontacted
        FROM base
    )
    -- One row per caisse, month and channel, with what each indicator counts (the fold below only adds them).
    SELECT caisse, packed // 4096 AS month, (packed // 64) % 64 AS channel, count(*) AS contacts,
        count(*) FILTER (WHERE packed & {FLAG_DEMAT} != 0) AS demat,
        count(*) FILTER (WHERE recontacted) AS recontacted,
        count(*) FILTER (WHERE packed & {FLAG_ANSWERED} != 0) AS answered,
        count(*) FILTER (WHERE packed & {FLAG_EMAIL_48H} != 0) AS email_48h,
        count(*) FILTER (WHERE packed & {FLAG_APPOINTMENT} != 0) AS appointment,
        count(*) FILTER (WHERE packed & {FLAG_WAIT_KNOWN} != 0) AS wait_known,
        count(*) FILTER (WHERE packed & {FLAG_WAIT_KNOWN} != 0 AND packed & {FLAG_WAIT_20MIN} != 0) AS wait_20min
    FROM flagged
    WHERE packed < {24 * 4096}
    GROUP BY ALL
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE kpi_grouped AS {sql}")
    # Each indicator's numerator and denominator per caisse and month, and per caisse and year (GROUPING SETS),
    # summed by DuckDB: Python only files the rows. A (caisse, period, indicator) with nothing to count has no row.
    self_service = ", ".join(str(CHANNELS.index(c)) for c in SELF_SERVICE)
    by_period = "GROUP BY GROUPING SETS ((caisse, month, y), (caisse, y))"
    parts = [
        (
            "demat_rate",
            f"coalesce(sum(demat) FILTER (WHERE channel IN ({self_service})), 0)",
            "sum(demat)",
            "",
        ),
        ("recontact_rate", "sum(recontacted)", "sum(contacts)", ""),
        ("phone_answer_rate", "sum(answered)", "sum(contacts)", f"WHERE channel = {CHANNELS.index('phone')}"),
        ("email_48h_rate", "sum(email_48h)", "sum(contacts)", f"WHERE channel = {CHANNELS.index('email')}"),
        (
            "appointment_share",
            "sum(appointment)",
            "sum(contacts)",
            f"WHERE channel = {CHANNELS.index('reception')}",
        ),
        (
            "reception_20min_rate",
            "sum(wait_20min)",
            "sum(wait_known)",
            f"WHERE channel = {CHANNELS.index('reception')}",
        ),
    ]
    indicator_sql = " UNION ALL ".join(
        f"SELECT caisse, month, y, '{name}', {num}, {den} FROM g {where} {by_period} HAVING {den} > 0"
        for name, num, den, where in parts
    )
    indicator_rows = con.execute(
        f"WITH g AS (SELECT *, month // 12 AS y FROM kpi_grouped) {indicator_sql}"
    ).fetchall()
    mix_rows = con.execute(
        "WITH g AS (SELECT *, month // 12 AS y FROM kpi_grouped WHERE month >= 12) "
        "SELECT caisse, month, y, channel, sum(contacts) FROM g "
        "GROUP BY GROUPING SETS ((caisse, month, y, channel), (caisse, y, channel))"
    ).fetchall()

    # account_rate: persons of each caisse, and those with an account opened before each period's end.
    ends = {**{labels[i]: bounds[i + 1] for i in range(12, 24)}, str(year - 1): bounds[12], str(year): hi}
    end_items = list(ends.items())
    cols = ", ".join(f"count(*) FILTER (WHERE account_opened_at < {_ts(end)})" for _, end in end_items)
    persons = con.execute(f"SELECT caisse, count(*), {cols} FROM persons GROUP BY caisse").fetchall()

    # (caisse, period, indicator) -> [num, den]; periods are months and years.
    counts: dict[tuple[str, str, str], list[int]] = {}
    mix: dict[tuple[str, str, str], int] = {}
    caisses: set[str] = set()

    def period_of(month: int | None, y: int) -> str:
        return labels[month] if month is not None else str(year - 1 + y)

    for caisse, month, y, indicator, num, den in indicator_rows:
        caisses.add(caisse)
        counts[(caisse, period_of(month, y), indicator)] = [int(num), int(den)]
    for caisse, month, y, channel_index, n in mix_rows:
        mix[(caisse, period_of(month, y), CHANNELS[channel_index])] = int(n)
    for caisse, total, *opened in persons:
        caisses.add(caisse)
        for (period, _end), num in zip(end_items, opened, strict=True):
            counts[(caisse, period, "account_rate")] = [num, total]

    # Targets: the national value of year-1, pooled over the caisses.
    targets: dict[str, float | None] = {}
    previous = str(year - 1)
    for indicator in INDICATORS:
        num = sum(v[0] for (c, p, i), v in counts.items() if p == previous and i == indicator)
        den = sum(v[1] for (c, p, i), v in counts.items() if p == previous and i == indicator)
        targets[indicator] = num / den if den else None

    ordered = sorted(caisses)
    months = labels[12:]

    def rows(periods: list[str]) -> list[IndicatorValue]:
        out = []
        for caisse in ordered:
            for period in periods:
                for indicator in INDICATORS:
                    num, den = counts.get((caisse, period, indicator), (0, 0))
                    out.append(indicator_value(caisse, period, indicator, num, den, targets[indicator]))
        return out

    yearly = rows([str(year)])
    bonus = []
    for caisse in ordered:
        met = tuple(r.indicator for r in yearly if r.caisse == caisse and r.met)
        bonus.append(Bonus(caisse, year, sum(weights[i] for i in met), met))
    channel_mix = [
        ChannelCount(caisse, period, channel, mix.get((caisse, period, channel), 0))
        for caisse in ordered
        for period in [str(year), *months]
        for channel in CHANNELS
    ]
    return KpiResult(
        year=year,
        yearly=yearly,
        monthly=rows(months),
        targets=targets,
        bonus=bonus,
        channel_mix=channel_mix,
        weights=weights,
    )


# --------------------------------------------------------------------------------------------------- output
def format_number(value: float | None) -> str:
    if value is None:
        return ""
    return repr(float(value))


def format_points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


INDICATOR_COLUMNS = ["caisse", "period", "indicator", "numerator", "denominator", "value", "target", "met"]
BONUS_COLUMNS = ["caisse", "year", "points", "indicators_met"]


def indicator_records(rows: Iterable[IndicatorValue]) -> Iterable[list[str]]:
    for r in rows:
        yield [
            r.caisse,
            r.period,
            r.indicator,
            str(r.numerator),
            str(r.denominator),
            format_number(r.value),
            format_number(r.target),
            "true" if r.met else "false",
        ]


def bonus_records(rows: Iterable[Bonus]) -> Iterable[list[str]]:
    for b in rows:
        yield [b.caisse, str(b.year), format_points(b.points), ";".join(b.indicators_met)]


def write_csv(path: str | os.PathLike[str], header: list[str], records: Iterable[list[str]]) -> None:
    import csv

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(records)
