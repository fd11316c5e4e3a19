"""The retention of old months of the partitioned tables on PostgreSQL (docs/scale.md, "Retention of old months").

The other end of `core.partitions.create_months_ahead`: the monthly partitions of a table older than its retention
(`PARTITIONS_RETENTION`: months, and `drop` or `archive`) are detached, then dropped or moved to the schema
`omniguichet_archive`. Each month goes in two short transactions:

1. **detach**: `ALTER TABLE ... DETACH PARTITION`, then the guards again on the detached month, all in one
   transaction waiting at most PARTITIONS_DETACH_LOCK_TIMEOUT_MS for the table's lock (tried three times). A guard
   that refuses now rolls the detach back. `DETACH ... CONCURRENTLY` is used when the table has no default
   partition; ours have one (no row is ever refused), and PostgreSQL refuses CONCURRENTLY there.
2. **drop or archive**: the month's foreign keys first, one short transaction each (see `_finish`: dropped all at
   once, they deadlocked with writers of contacts), then the apps' hooks (the key tables' rows of the month, the
   calls' contact) and `DROP TABLE` or `ALTER TABLE ... SET SCHEMA omniguichet_archive`, in one transaction.

Both steps are audited (`core.PartitionEvent`). A month left detached by a run cut short between the two is
finished by the next run. The current month and the future ones are never candidates, whatever is asked.

The apps register what only they know, from their `AppConfig.ready()` (this module sits below them):
`register_guard(table, check)` — why a month may not leave yet (the warehouse has not exported it, messages are
still queued...) — and `register_before_drop(table, hook)` — what must go with it. Months leave oldest first: a
month kept back keeps every later one of its table, so that what is left of a table is always whole months from
one point on (the retention horizon, `horizon()`, which the ingestion of contacts refuses to go below).

SQLite keeps one table: not supported there (`RetentionUnsupported`), see docs/scale.md for why.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from omniguichet.core import partitions
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict, InvalidInput

log = logging.getLogger(__name__)

ACTIONS = ("drop", "archive")
ARCHIVE_SCHEMA = "omniguichet_archive"
DETACH_TRIES = 3
# The environment variables behind PARTITIONS_RETENTION (settings.py), for the error messages.
VARIABLES = {
    "crm_contact": ("OMNIGUICHET_CONTACTS_RETENTION_MONTHS", "OMNIGUICHET_CONTACTS_RETENTION_ACTION"),
    "outreach_outboundmessage": (
        "OMNIGUICHET_LEDGER_RETENTION_MONTHS",
        "OMNIGUICHET_LEDGER_RETENTION_ACTION",
    ),
}


class RetentionUnsupported(Conflict):
    """The database keeps one table per model (SQLite): there are no months to detach."""


@dataclass(frozen=True)
class Policy:
    table: str
    months: int | None  # None: kept for ever
    action: str  # drop | archive

    def cutoff(self, now: dt.datetime) -> dt.date | None:
        """The first month kept: every month before it is past retention."""
        if self.months is None:
            return None
        return months_before(partitions.month_start(now), self.months)


def months_before(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_months(value: str, name: str) -> int | None:
    """A retention in months: empty for ever, else a whole number from 1 to 1200."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 1200:
        raise ImproperlyConfigured(
            f"{name}: a number of months from 1 to 1200, or empty to keep for ever; got {value!r}"
        )
    return int(value)


def parse_action(value: str, name: str) -> str:
    value = value.strip().lower()
    if value not in ACTIONS:
        raise ImproperlyConfigured(f"{name}: 'drop' or 'archive'; got {value!r}")
    return value


def policies() -> dict[str, Policy]:
    """PARTITIONS_RETENTION read and checked; ImproperlyConfigured names the variable at fault."""
    found = {}
    for table, (months, action) in getattr(settings, "PARTITIONS_RETENTION", {}).items():
        months_name, action_name = VARIABLES.get(table, (f"PARTITIONS_RETENTION[{table!r}]",) * 2)
        found[table] = Policy(
            table, parse_months(str(months), months_name), parse_action(str(action), action_name)
        )
    return found


def parse_older_than(value: str, *, now: dt.datetime | None = None) -> dt.date:
    """The command's --detach-older-than: a number of months ("60") or a month ("2021-06"); returns the first month
    kept. InvalidInput when it is neither, or when it would reach the current month."""
    now = now or timezone.now()
    this_month = partitions.month_start(now)
    value = value.strip()
    if value.isdigit():
        months = int(value)
        if months < 1 or months > 1200:
            raise InvalidInput.from_fields({"detach_older_than": "a number of months from 1 to 1200"})
        return months_before(this_month, months)
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput.from_fields(
            {"detach_older_than": f"a number of months (60) or a month (2021-06); got {value!r}"}
        )
    first_kept = dt.date(int(match.group(1)), int(match.group(2)), 1)
    if first_kept > this_month:
        raise InvalidInput.from_fields(
            {
                "detach_older_than": f"the current month ({this_month:%Y-%m}) and the next ones are never detached"
            }
        )
    return first_kept


# --- what the apps register ----------------------------------------------------------------------------------------
# check(partition, month) -> a reason to keep the month for now, or None; `partition` is the month's table (attached
# or, on the second check, detached and locked).
Guard = Callable[[str, dt.date], str | None]
# hook(partition) -> rows changed; runs in the transaction that drops or archives the detached month.
BeforeDrop = Callable[[str], int]
_guards: dict[str, list[Guard]] = {}
_before_drop: dict[str, list[BeforeDrop]] = {}


def register_guard(table: str, check: Guard) -> None:
    if check not in _guards.setdefault(table, []):
        _guards[table].append(check)


def register_before_drop(table: str, hook: BeforeDrop) -> None:
    if hook not in _before_drop.setdefault(table, []):
        _before_drop[table].append(hook)


def _kept_because(table: str, partition: str, month: dt.date) -> str | None:
    for check in _guards.get(table, []):
        reason = check(partition, month)
        if reason:
            return reason
    return None


# --- the plan ------------------------------------------------------------------------------------------------------
@dataclass
class Step:
    table: str
    partition: str
    month: dt.date
    detached: bool  # already detached by an earlier run cut short: only the drop or archive is left
    action: str
    rows: int  # the planner's estimate (pg_class.reltuples), -1 when never analysed
    rule: str = ""  # why it is a candidate, for the audit
    kept: str | None = None  # why this month stays for now
    done: str | None = None  # what this run did: detached, dropped, archived
    seconds: dict[str, float] = field(
        default_factory=dict
    )  # "detach" (the table locked), "drop" or "archive"


@dataclass
class RetentionReport:
    steps: list[Step] = field(default_factory=list)
    dry_run: bool = False

    @property
    def left(self) -> list[Step]:
        return [s for s in self.steps if s.done in ("dropped", "archived")]

    @property
    def kept(self) -> list[Step]:
        return [s for s in self.steps if s.kept]


_MONTH_NAME = re.compile(r"^(?P<table>.+)_p(?P<year>\d{4})(?P<month>\d{2})$")


def _month_of(table: str, name: str) -> dt.date | None:
    match = _MONTH_NAME.match(name)
    if not match or match.group("table") != table or not 1 <= int(match.group("month")) <= 12:
        return None
    return dt.date(int(match.group("year")), int(match.group("month")), 1)


def _months_of(table: str) -> list[tuple[str, dt.date, bool, int]]:
    """(partition, month, detached, estimated rows) of the table's monthly partitions, attached or left detached
    by a run cut short (same name, no longer a partition), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, NOT c.relispartition, c.reltuples::bigint FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " WHERE c.relkind = 'r' AND c.relname LIKE %s"
            " AND (NOT c.relispartition OR EXISTS (SELECT 1 FROM pg_inherits i"
            "      WHERE i.inhrelid = c.oid AND i.inhparent = to_regclass(%s)))",
            [table.replace("_", r"\_") + r"\_p%", table],
        )
        rows = cursor.fetchall()
    found = []
    for name, detached, estimate in rows:
        month = _month_of(table, name)
        if month is not None:
            found.append((name, month, detached, estimate))
    return sorted(found, key=lambda row: row[1])


def plan(
    *, older_than: dt.date | None = None, tables: list[str] | None = None, now: dt.datetime | None = None
) -> RetentionReport:
    """What a run would do: for each partitioned table (or those named), its months before `older_than` (or before
    its retention setting), each with the reason it is kept if it is. Reads only."""
    _check_database()
    now = now or timezone.now()
    this_month = partitions.month_start(now)
    settings_policies = policies()
    partitioned = partitions.partitioned_tables()
    unknown = sorted(set(tables or []) - set(partitioned))
    if unknown:
        raise InvalidInput.from_fields(
            {
                "table": f"not a partitioned table: {', '.join(unknown)} (known: {', '.join(sorted(partitioned))})"
            }
        )
    report = RetentionReport()
    for table in sorted(tables or partitioned):
        policy = settings_policies.get(table, Policy(table, None, "drop"))
        cutoff = older_than if older_than is not None else policy.cutoff(now)
        if cutoff is None:
            continue
        if older_than is not None:
            rule = f"older than {older_than:%Y-%m} (asked)"
        else:
            variable = VARIABLES.get(table, ("PARTITIONS_RETENTION",))[0]
            rule = f"older than {cutoff:%Y-%m}: retention of {policy.months} months ({variable})"
        cutoff = min(cutoff, this_month)  # never the current month nor the next ones
        blocked: str | None = None
        for name, month, detached, estimate in _months_of(table):
            if month >= cutoff:
                break
            step = Step(table, name, month, detached, policy.action, estimate, rule)
            if not detached:
                step.kept = blocked or _kept_because(table, name, month)
                if step.kept and not blocked:
                    blocked = f"an older month is kept ({month:%Y-%m})"
            report.steps.append(step)
    return report


def _check_database() -> None:
    if connection.vendor != "postgresql":
        raise RetentionUnsupported(
            "the retention of old months needs the monthly partitions of PostgreSQL; this database"
            f" ({connection.vendor}) keeps one table per model: see docs/scale.md, 'Retention of old months'"
        )


# --- the run -------------------------------------------------------------------------------------------------------
def apply_retention(
    *,
    actor: Actor,
    channel: Channel,
    older_than: dt.date | None = None,
    tables: list[str] | None = None,
    dry_run: bool = False,
    on_step: Callable[[Step], None] | None = None,
    now: dt.datetime | None = None,
) -> RetentionReport:
    """Detach, then drop or archive, every month past retention that its guards let go (see the module's
    docstring). `on_step` is told of each month once decided. Idempotent: a second run finds nothing left to do
    but the months kept back. Must not run inside a transaction (each month is committed on its own)."""
    if not actor.sees_all_caisses:
        raise InvalidInput.from_fields(
            {"actor": "the retention covers every caisse: a national role is required"}
        )
    report = plan(older_than=older_than, tables=tables, now=now)
    report.dry_run = dry_run
    if dry_run:
        for step in report.steps:
            if on_step:
                on_step(step)
        return report
    if connection.in_atomic_block:
        raise Conflict("the retention commits each month on its own: call it outside a transaction")
    for step in report.steps:
        rule = step.rule
        if not step.kept and not step.detached:
            started = time.perf_counter()
            _detach(step, actor=actor, channel=channel, rule=rule)
            step.seconds["detach"] = time.perf_counter() - started
        if not step.kept:
            started = time.perf_counter()
            _finish(step, actor=actor, channel=channel, rule=rule)
            step.seconds[step.action] = time.perf_counter() - started
        if on_step:
            on_step(step)
        if step.kept:  # later months of the table wait for this one
            for later in report.steps:
                if later.table == step.table and later.month > step.month and not later.detached:
                    later.kept = later.kept or f"an older month is kept ({step.month:%Y-%m})"
    return report


def _audit(step: Step, action: str, *, actor: Actor, channel: Channel, rule: str, rows: int | None) -> None:
    record_removal(
        table=step.table, partition=step.partition, month=step.month, action=action, rows=rows,
        actor=actor, channel=channel, rule=rule,
    )  # fmt: skip


def record_removal(
    *, table: str, partition: str, month: dt.date, action: str, rows: int | None, actor: Actor, channel: Channel,
    rule: str,
) -> None:  # fmt: skip
    """One row of the retention's audit (core.PartitionEvent): a month that left a table, or rows deleted by date
    from a table that is not partitioned (action `deleted`, telephony's calls)."""
    from omniguichet.core.models import PartitionEvent

    PartitionEvent.objects.create(
        table=table, partition=partition, month=month, action=action, rows=rows,
        actor=(actor.label or actor.kind)[:150], channel=str(channel.value)[:20], rule=rule[:300],
    )  # fmt: skip


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _has_default(table: str) -> bool:
    return f"{table}_default" in partitions.partitions(table)


def _detach(step: Step, *, actor: Actor, channel: Channel, rule: str) -> None:
    """Take the month out of its table, with its guards checked again once it is out and locked."""
    if not _has_default(step.table):
        _detach_concurrently(step, actor=actor, channel=channel, rule=rule)
        return
    timeout = _lock_timeout()
    for attempt in range(1, DETACH_TRIES + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {timeout}")
                cursor.execute(f"ALTER TABLE {_q(step.table)} DETACH PARTITION {_q(step.partition)}")
                reason = _kept_because(step.table, step.partition, step.month)
                if reason:
                    step.kept = reason
                    transaction.set_rollback(True)
                    return
                _audit(step, "detached", actor=actor, channel=channel, rule=rule, rows=max(step.rows, 0))
            step.detached, step.done = True, "detached"
            log.info("partition %s detached from %s", step.partition, step.table)
            return
        except OperationalError as exc:
            if not _lock_not_obtained(exc):
                raise
            if attempt == DETACH_TRIES:
                step.kept = (
                    f"the table stayed busy: its lock was not obtained within {timeout} ms, {DETACH_TRIES}"
                    " tries; the next run tries again"
                )
                return
            time.sleep(attempt)


def _lock_timeout() -> int:
    return max(int(getattr(settings, "PARTITIONS_DETACH_LOCK_TIMEOUT_MS", 2000)), 1)


def _lock_not_obtained(exc: OperationalError) -> bool:
    """A lock timeout (55P03), or a deadlock that PostgreSQL broke by cancelling our statement (40P01): either
    way the table was busy, the transaction is rolled back, and the next try or run does the work."""
    return getattr(exc.__cause__, "sqlstate", None) in ("55P03", "40P01")


def _detach_concurrently(step: Step, *, actor: Actor, channel: Channel, rule: str) -> None:
    """A table without a default partition: DETACH ... CONCURRENTLY (two transactions of PostgreSQL's own, writers
    never wait), then the guards on the detached month; one that refuses now attaches it back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.inhdetachpending FROM pg_inherits i WHERE i.inhrelid = to_regclass(%s)",
            [step.partition],
        )
        row = cursor.fetchone()
        how = "FINALIZE" if row and row[0] else "CONCURRENTLY"  # FINALIZE: a concurrent detach cut short
        cursor.execute(f"ALTER TABLE {_q(step.table)} DETACH PARTITION {_q(step.partition)} {how}")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_q(step.partition)} IN ACCESS EXCLUSIVE MODE")
        reason = _kept_because(step.table, step.partition, step.month)
        if reason:
            low, high = partitions._bound(step.month), partitions._bound(partitions.next_month(step.month))
            with connection.cursor() as cursor:
                cursor.execute(
                    f"ALTER TABLE {_q(step.table)} ATTACH PARTITION {_q(step.partition)}"
                    f" FOR VALUES FROM ({low}) TO ({high})"
                )
            step.kept = reason
            return
        _audit(step, "detached", actor=actor, channel=channel, rule=rule, rows=max(step.rows, 0))
    step.detached, step.done = True, "detached"


def _finish(step: Step, *, actor: Actor, channel: Channel, rule: str) -> None:
    """Drop or archive a detached month, after the apps' hooks (key tables, references into it).

    The month's foreign keys (to persons, caisses, motives, agents) go first, each in a transaction of its own:
    removing one takes the referenced table's ACCESS EXCLUSIVE lock until the commit, and a `DROP TABLE` that
    removed them all at once held one referenced table while waiting for the next, when a writer of contacts
    held the next (its foreign-key checks) and waited for the first: a deadlock, measured by
    bench/partition_detach.py (docs/scale.md). One lock at a time, there is no cycle. Then the hooks and
    `DROP TABLE` (or the move to the archive schema) in one transaction, which locks only the month itself. Every
    step waits at most the lock timeout; a table that stays busy leaves the month detached, and the next run
    finishes it."""
    try:
        _drop_foreign_keys(step)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {_q(step.partition)}")
            rows = cursor.fetchone()[0]
            for hook in _before_drop.get(step.table, []):
                hook(step.partition)
            cursor.execute(f"SET LOCAL lock_timeout = {_lock_timeout()}")
            if step.action == "archive":
                # A frozen copy: its rows no longer hold the persons, caisses... they point at (keys dropped above).
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(ARCHIVE_SCHEMA)}")
                cursor.execute(f"REVOKE ALL ON SCHEMA {_q(ARCHIVE_SCHEMA)} FROM PUBLIC")
                cursor.execute(f"ALTER TABLE {_q(step.partition)} SET SCHEMA {_q(ARCHIVE_SCHEMA)}")
                done = "archived"
            else:
                cursor.execute(f"DROP TABLE {_q(step.partition)}")
                done = "dropped"
            _audit(step, done, actor=actor, channel=channel, rule=rule, rows=rows)
    except OperationalError as exc:
        if not _lock_not_obtained(exc):
            raise
        step.kept = "detached, but the tables it points at stayed busy: the next run drops or archives it"
        return
    step.rows, step.done = rows, done
    log.info("partition %s of %s %s (%d rows)", step.partition, step.table, done, rows)


def _drop_foreign_keys(step: Step) -> None:
    """The detached month's foreign keys dropped one by one, each in a short transaction under the lock timeout
    (see _finish). Nothing writes into a detached month: it needs them no more."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'f' ORDER BY conname",
            [step.partition],
        )
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {_lock_timeout()}")
            cursor.execute(f"ALTER TABLE {_q(step.partition)} DROP CONSTRAINT IF EXISTS {_q(name)}")


def horizon(table: str) -> dt.date | None:
    """The first day a row of `table` may still be dated: the month after the newest month that left it (None when
    none has). Rows before it were removed by the retention; the ingestion refuses them (docs/scale.md)."""
    from omniguichet.core.models import PartitionEvent

    newest = (
        PartitionEvent.objects.filter(table=table, action__in=("dropped", "archived"))
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    return partitions.next_month(newest) if newest else None
