"""The retention of a month of contacts on PostgreSQL (issue 18 section 3; docs/scale.md, "Retention of old months"):
how long the detach and the drop of a month of N contacts take, and what a writer inserting contacts into the
current month sees meanwhile.

A fresh database is migrated, a month of 2019 filled with N contacts (with external ids, so the key table holds
N keys, as for ingested contacts) spread over P persons, the warehouse exported (the retention's guard wants the
month exported), then a writer thread inserts one contact at a time into the current month (its own connection,
autocommit) for `--baseline` seconds, the retention runs (`core.retention.apply_retention`, as the task and the
command do), and the writer goes on for as long again. Printed: the detach's and the drop's times (from the audit
rows), the writer's insert latency p50 / p99 / max before and during the retention, and the longest time it
went without a committed insert. `--without-default` first detaches the default partition, so that the detach is
`DETACH ... CONCURRENTLY` (PostgreSQL refuses it on a table with a default partition).

    DATABASE_URL=postgres://... python -m bench.partition_detach --contacts 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class Writer(threading.Thread):
    """Inserts contacts into the current month, one per autocommitted statement, recording (start, seconds)."""

    def __init__(self, person_id: int, caisse: str) -> None:
        super().__init__(daemon=True)
        self.person_id, self.caisse = person_id, caisse
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                while not self.stop.is_set():
                    t0 = time.perf_counter()
                    cursor.execute(
                        "INSERT INTO crm_contact (person_id, caisse_id, channel, direction, motive_id, started_at,"
                        " actor_kind, outcome, note, subject_kind, subject_ref, source, created_at)"
                        " VALUES (%s, %s, 'phone', 'inbound', 'remboursement', now(), 'system', 'resolved', '',"
                        " '', '', '', now())",
                        [self.person_id, self.caisse],
                    )
                    self.samples.append((t0, time.perf_counter() - t0))
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            connection.close()


def _summary(samples: list[tuple[float, float]]) -> str:
    if len(samples) < 2:
        return f"{len(samples)} inserts"
    ms = [s * 1000 for _t, s in samples]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    starts = [t for t, _s in samples]
    ends = [t + s for t, s in samples]
    gap = max(b - a for a, b in zip(ends, starts[1:], strict=False)) if len(samples) > 1 else 0.0
    longest = max(max(ms), gap * 1000)
    return (
        f"{len(samples):,} inserts, p50 {cuts[49]:.2f} ms, p99 {cuts[98]:.2f} ms, max {max(ms):.1f} ms,"
        f" longest wait for a commit {longest:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=_positive, default=1_000_000, help="contacts in the month (1 M)")
    parser.add_argument("--persons", type=_positive, default=20_000, help="persons they belong to")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds of writing before and after")
    parser.add_argument("--action", choices=["drop", "archive"], default="drop")
    parser.add_argument(
        "--without-default",
        action="store_true",
        help="detach the default partition first: DETACH CONCURRENTLY",
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit(
            "bench.partition_detach: set DATABASE_URL to a PostgreSQL cluster (partitions are PostgreSQL's)"
        )
    from bench.crm import _database_url

    var_dir = tempfile.mkdtemp(prefix="partition-detach-")
    os.environ["DATABASE_URL"] = _database_url(base, var_dir, "detach")
    os.environ["OMNIGUICHET_VAR_DIR"] = var_dir
    os.environ["OMNIGUICHET_CONTACTS_RETENTION_ACTION"] = args.action
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniguichet.settings")
    import datetime as dt

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from omniguichet.analytics.services import export_warehouse
    from omniguichet.core import partitions, retention
    from omniguichet.core.actors import Actor, Channel
    from omniguichet.core.models import PartitionEvent

    call_command("migrate", verbosity=0)
    month = dt.date(2019, 1, 1)
    partitions.create_months("crm_contact", "started_at", [month, partitions.next_month(month)])
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO referential_person (nir, given_names, family_name, usage_name, family_name_folded,"
            " usage_name_folded, birth_date, sex, birth_place, address_line, postcode, city, status, created_at,"
            " updated_at, caisse_id) SELECT '1' || lpad(g::text, 14, '0'), 'A', 'B', '', 'B', '', '1980-01-01',"
            " 'M', '75056', '', '75001', 'Paris', 'employee', now(), now(), c.codes[1 + g %% cardinality(c.codes)]"
            " FROM generate_series(1, %s) g, (SELECT array_agg(code) AS codes FROM referential_caisse) c",
            [args.persons],
        )
        cursor.execute(
            "CREATE TEMP TABLE p AS SELECT row_number() OVER () AS n, id, caisse_id FROM referential_person"
        )
        cursor.execute(
            "INSERT INTO crm_contact (person_id, caisse_id, channel, direction, motive_id, started_at, actor_kind,"
            " outcome, note, subject_kind, subject_ref, source, external_id, created_at)"
            " SELECT p.id, p.caisse_id, 'phone', 'inbound', 'remboursement',"
            " timestamptz '2019-01-01 00:00+00' + (g %% 2678400) * interval '1 second', 'system', 'resolved', '',"
            " '', '', 'bench', 'c-' || g, now() FROM generate_series(1, %s) g JOIN p ON p.n = 1 + g %% %s",
            [args.contacts, args.persons],
        )
        cursor.execute("ANALYZE crm_contact")
        cursor.execute("ANALYZE crm_contactkey")
        cursor.execute("SELECT id, caisse_id FROM referential_person ORDER BY id LIMIT 1")
        person_id, caisse = cursor.fetchone()
    print(f"filled {args.contacts:,} contacts of {month:%Y-%m} in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    export_warehouse(actor=Actor.system(), channel=Channel.BACKOFFICE, out=settings.ANALYTICS_WAREHOUSE_DIR)
    export_warehouse(actor=Actor.system(), channel=Channel.BACKOFFICE, out=settings.ANALYTICS_WAREHOUSE_DIR)
    print(f"warehouse export: {time.perf_counter() - t0:.0f} s")
    if args.without_default:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE crm_contact DETACH PARTITION crm_contact_default")
            cursor.execute("DROP TABLE crm_contact_default")
    plan = retention.plan(older_than=partitions.next_month(month), tables=["crm_contact"])
    [step] = [s for s in plan.steps if s.month == month]
    if step.kept:
        sys.exit(f"bench.partition_detach: the month is kept: {step.kept}")

    writer = Writer(person_id, caisse)
    writer.start()
    time.sleep(args.baseline)
    started = time.perf_counter()
    report = retention.apply_retention(
        actor=Actor.system("bench"), channel=Channel.BACKOFFICE, older_than=partitions.next_month(month),
        tables=["crm_contact"],
    )  # fmt: skip
    ended = time.perf_counter()
    time.sleep(args.baseline)
    writer.stop.set()
    writer.join()
    if writer.error:
        raise writer.error
    [done] = [s for s in report.steps if s.month == month]
    events = {e.action: e.at for e in PartitionEvent.objects.filter(partition=done.partition).order_by("at")}
    before = [s for s in writer.samples if s[0] + s[1] < started]
    during = [s for s in writer.samples if s[0] < ended and s[0] + s[1] > started]
    after = [s for s in writer.samples if s[0] > ended]
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    how = (
        "DETACH CONCURRENTLY (no default partition)" if args.without_default else "DETACH (default partition)"
    )
    print(f"retention of {done.partition}: {done.rows:,} rows {done.done} in {ended - started:.2f} s; {how}")
    print(
        "  "
        + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in done.seconds.items())
        + f" (audited: {', '.join(events)})"
    )
    print(f"  writer before: {_summary(before)}")
    print(f"  writer during: {_summary(during)}")
    print(f"  writer after:  {_summary(after)}")
    print(f"  load average: {load}; database {os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}")


if __name__ == "__main__":
    main()
