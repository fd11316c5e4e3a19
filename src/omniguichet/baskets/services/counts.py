"""The baskets' open and overdue counts at national size (issue 17). The open count of a basket and kind is the sum
of its `OpenItemCount` deltas, which database triggers write with every change of a work item (migration 0003):
exact, in the reader's snapshot, whatever wrote the item. The overdue count depends on the time: it is a range of
the partial index (basket, kind, deadline) WHERE is_open, one seek per basket and kind. Both in one statement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Sum

from omniguichet.baskets.models import OpenItemCount, WorkItem

# The triggers that keep the counts (migration 0003): named for the bench's baseline and the checks.
TRIGGERS = ("baskets_workitem_count_insert", "baskets_workitem_count_delete", "baskets_workitem_count_update")


def basket_counts(basket_ids: list[int], now: dt.datetime) -> dict[tuple[int, str], tuple[int, int]]:
    """(basket, kind) -> (open, overdue) for these baskets, in one statement (so one snapshot on PostgreSQL): the
    sums of the counters per basket and kind, each with the count of its overdue range in the partial index
    (basket, kind, deadline) WHERE is_open, as a subquery: one seek per basket and kind, read from the index alone
    (an `IN` list over both columns let PostgreSQL read the items' rows of the basket's whole overdue range). A
    basket and kind without open items has no counter (or a zero sum) and no overdue item. `Max`: the subquery
    is the same for every row of a basket and kind, and grouping on it made SQLite run it twice."""
    if not basket_ids:
        return {}
    overdue = (
        WorkItem.objects.filter(
            basket_id=OuterRef("basket_id"), kind=OuterRef("kind"), is_open=True, deadline__lt=now
        )
        .order_by()
        .values("basket_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    rows = (
        OpenItemCount.objects.filter(basket_id__in=basket_ids)
        .values_list("basket_id", "kind")
        .annotate(open=Sum("n"), late=Max(Subquery(overdue, output_field=IntegerField())))
        .order_by()
    )
    return {
        (basket_id, kind): (int(open_n or 0), int(late_n or 0))
        for basket_id, kind, open_n, late_n in rows
        if open_n or late_n
    }


COMPACT_POSTGRESQL = """
WITH gone AS (
    DELETE FROM baskets_openitemcount
    WHERE (basket_id, kind) IN (
        SELECT basket_id, kind FROM baskets_openitemcount GROUP BY basket_id, kind HAVING COUNT(*) > 1
    )
    RETURNING basket_id, kind, n
)
INSERT INTO baskets_openitemcount (basket_id, kind, n)
SELECT basket_id, kind, SUM(n) FROM gone GROUP BY basket_id, kind HAVING SUM(n) <> 0
"""
# SQLite has one writer at a time (the transaction below holds it): the sums are written as new rows, then the
# rows they replace go.
COMPACT_SQLITE = [
    """INSERT INTO baskets_openitemcount (basket_id, kind, n)
    SELECT basket_id, kind, SUM(n) FROM baskets_openitemcount WHERE id <= %s
    GROUP BY basket_id, kind HAVING COUNT(*) > 1""",
    """DELETE FROM baskets_openitemcount WHERE id <= %s AND (basket_id, kind) IN (
        SELECT basket_id, kind FROM baskets_openitemcount WHERE id > %s
    )""",
    "DELETE FROM baskets_openitemcount WHERE id > %s AND n = 0",
]


def compact_counts() -> int:
    """Fold the deltas into one row per basket and kind (none where the sum is 0). Safe beside writers: on
    PostgreSQL one statement deletes the rows it sums (a delta committed meanwhile is neither deleted nor summed);
    on SQLite the transaction holds the only writer's lock. Returns the rows left."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(COMPACT_POSTGRESQL)
        else:
            cursor.execute("SELECT MAX(id) FROM baskets_openitemcount")
            top = cursor.fetchone()[0] or 0
            for sql in COMPACT_SQLITE:
                cursor.execute(sql, [top] * sql.count("%s"))
    return OpenItemCount.objects.count()


def compact_counts_job() -> int:
    """The outreach sweep's periodic job (registered in baskets.apps): it writes no message, so it returns 0."""
    compact_counts()
    return 0


@dataclass(frozen=True)
class CountCheck:
    """A basket and kind whose counters differ from a count of its open items."""

    basket_id: int
    kind: str
    counted: int
    kept: int


def check_counts(*, rebuild: bool = False) -> list[CountCheck]:
    """Compare every counter with a count of the open items (a full read of the open items: a command's work,
    not a page's). `rebuild`: replace the counters by that count, writers held off meanwhile (PostgreSQL: a SHARE
    lock on the items; SQLite: the writer's lock). Returns the differences found."""
    with transaction.atomic():
        if rebuild and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE baskets_workitem IN SHARE MODE")
        counted = {
            (b, k): n
            for b, k, n in WorkItem.objects.filter(is_open=True)
            .values_list("basket_id", "kind")
            .annotate(n=Count("id"))
            .order_by()
        }
        kept = {
            (b, k): n
            for b, k, n in OpenItemCount.objects.values_list("basket_id", "kind")
            .annotate(n=Sum("n"))
            .order_by()
        }
        wrong = [
            CountCheck(b, k, counted.get((b, k), 0), kept.get((b, k), 0))
            for b, k in sorted(set(counted) | set(kept))
            if counted.get((b, k), 0) != kept.get((b, k), 0)
        ]
        if rebuild:
            OpenItemCount.objects.all().delete()
            OpenItemCount.objects.bulk_create(
                OpenItemCount(basket_id=b, kind=k, n=n) for (b, k), n in counted.items()
            )
    return wrong
