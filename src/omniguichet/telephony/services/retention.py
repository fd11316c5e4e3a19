"""The retention of telephony's own records (docs/telephony.md, "Retention").

- **Calls and their event lines** are not partitioned (a call is one row, its events five): those of calls started
  before the first month kept leave by `DELETE`, oldest first, in batches, each batch in a short transaction of its
  own with its audit row (`core.PartitionEvent`, action `deleted`). The months are UTC months, as the contacts'
  partitions. A held line (its call's `new` never came) dated before that month goes too.
- **The horizon.** Once a month has left, its event lines are refused at the ingestion (a replayed old batch would
  otherwise bring the calls back, and end them with a second contact): `retained_from()`.
- **A month of contacts that leaves** (core.retention, on PostgreSQL) first clears the contact of its calls: the
  call keeps its row without its contact. Dropping a partition fires no row trigger, so the constraint trigger
  protecting a call's contact (telephony.0003) cannot refuse it: `forget_call_contacts` runs first, in the same
  transaction as the drop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from omniguichet.core import partitions
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.db import values_subquery
from omniguichet.core.errors import InvalidInput
from omniguichet.core.models import PartitionAction
from omniguichet.core.retention import months_before, parse_months, record_removal
from omniguichet.telephony.models import Call, CallEvent

SETTING = "OMNIGUICHET_CALLS_RETENTION_MONTHS"
# Calls deleted a transaction: each batch holds its rows' locks for tens of milliseconds, not for the whole month.
BATCH = 5_000


def forget_call_contacts(partition: str) -> int:
    """Clear the contact of the calls pointing at a detached month of contacts; returns how many."""
    table = connection.ops.quote_name(partition)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE telephony_call c SET contact_id = NULL FROM {table} d WHERE c.contact_id = d.id"
        )
        return cursor.rowcount


def retention_months() -> int | None:
    """CALLS_RETENTION_MONTHS checked (None: kept for ever); ImproperlyConfigured names the variable."""
    return parse_months(str(getattr(settings, "CALLS_RETENTION_MONTHS", "")), SETTING)


def _first_kept_by_setting(now: dt.datetime) -> dt.date | None:
    months = retention_months()
    return None if months is None else months_before(partitions.month_start(now.astimezone(dt.UTC)), months)


def retained_from(*, now: dt.datetime | None = None) -> dt.date | None:
    """The first UTC day an event line may be dated: the later of the retention setting's first month kept and
    the month after the newest month deleted (the setting may have been lengthened since). None: no limit."""
    from omniguichet.core.models import PartitionEvent

    newest_deleted = PartitionEvent.objects.filter(
        table__in=(Call._meta.db_table, CallEvent._meta.db_table), action=PartitionAction.DELETED
    ).aggregate(month=Max("month"))["month"]
    deleted = partitions.next_month(newest_deleted) if newest_deleted else None
    limits = [d for d in (_first_kept_by_setting(now or timezone.now()), deleted) if d]
    return max(limits) if limits else None


@dataclass
class CallsRetentionReport:
    first_kept: dt.date | None  # None: kept for ever, nothing done
    rule: str
    dry_run: bool = False
    calls: int = 0
    events: int = 0
    batches: int = 0


def purge_old_calls(
    *,
    actor: Actor,
    channel: Channel,
    first_kept: dt.date | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
    now: dt.datetime | None = None,
) -> CallsRetentionReport:
    """Delete the calls started before `first_kept` (a month; default: the retention setting), with their event
    lines, then the held lines dated before it. A second run finds nothing to do. The dry run counts and writes
    nothing (no audit either)."""
    now = now or timezone.now()
    if first_kept is None:
        first_kept = _first_kept_by_setting(now)
        if first_kept is None:
            return CallsRetentionReport(None, f"kept for ever ({SETTING} is empty)", dry_run)
        rule = f"older than {first_kept:%Y-%m}: retention of {retention_months()} months ({SETTING})"
    else:
        rule = f"older than {first_kept:%Y-%m} (asked)"
    this_month = partitions.month_start(now.astimezone(dt.UTC))
    if first_kept > this_month:
        raise InvalidInput.from_fields(
            {"older_than": f"the current month ({this_month:%Y-%m}) and the next ones are never deleted"}
        )
    report = CallsRetentionReport(first_kept, rule, dry_run)
    boundary = dt.datetime.combine(first_kept, dt.time(), dt.UTC)
    old_calls = Call.objects.filter(started_at__lt=boundary)
    held = CallEvent.objects.filter(applied=False, at__lt=boundary)
    if dry_run:
        report.calls = old_calls.count()
        report.events = (
            CallEvent.objects.filter(Q(call_id__in=old_calls.values("call_id")) | Q(applied=False, at__lt=boundary))
            .count()
        )  # fmt: skip
        return report
    # The newest month that leaves: retained_from() gives first_kept back from it.
    audit_month = months_before(first_kept, 1)
    while True:
        with transaction.atomic():
            rows = list(old_calls.order_by("started_at").values_list("pk", "call_id")[:batch])
            if not rows:
                break
            events = CallEvent.objects.filter(
                call_id__in=values_subquery([call_id for _pk, call_id in rows], of="text")
            ).delete()[0]
            calls = Call.objects.filter(pk__in=[pk for pk, _call_id in rows]).delete()[0]
            _audit(Call, audit_month, calls, actor=actor, channel=channel, rule=rule)
            if events:
                _audit(CallEvent, audit_month, events, actor=actor, channel=channel, rule=rule)
        report.calls += calls
        report.events += events
        report.batches += 1
    while True:
        with transaction.atomic():
            # No order: the held lines are found through their partial index (call_event_held_idx), not the table.
            pks = list(held.values_list("pk", flat=True)[:batch])
            if not pks:
                break
            events = CallEvent.objects.filter(pk__in=pks).delete()[0]
            _audit(CallEvent, audit_month, events, actor=actor, channel=channel, rule=f"{rule}, held lines")
        report.events += events
        report.batches += 1
    return report


def _audit(model: type, month: dt.date, rows: int, *, actor: Actor, channel: Channel, rule: str) -> None:
    table = model._meta.db_table  # type: ignore[attr-defined]
    record_removal(
        table=table, partition=table, month=month, action=PartitionAction.DELETED, rows=rows,
        actor=actor, channel=channel, rule=rule,
    )  # fmt: skip
