"""Benchmark of the warehouse export (issue #8): the pseudonymised contacts and persons written to Parquet, the
incremental run, and contacts changed after their export rewritten in their part.

A fresh database (SQLite file, or a new database in the PostgreSQL cluster of DATABASE_URL) is seeded with the
demo generator, then, in the same process and run:
- baseline: the least an export can cost: one raw SELECT of the exported columns of every contact, fetched in
  batches, turned into Arrow and written to one Parquet file (no pseudonym, no part files);
- full export: `export_warehouse` into an empty directory (contacts in parts of 100,000, persons by range);
- nothing new: the same export again (what an hourly run costs on a quiet hour);
- changes: CHANGED contacts get a responded_at / an answered flag through a queryset update() (the change log is
  written by the triggers), then an export rewrites their parts.

    python -m bench.warehouse                                 # SQLite, 100,000 persons, 2,000,000 contacts
    python -m bench.warehouse --persons 20000 --contacts 200000
    DATABASE_URL=postgres://... python -m bench.warehouse     # PostgreSQL
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

from bench.crm import _database_url
from bench.seed import _setup

CHANGED = 10_000  # recent contacts changed; a tenth of that among the older ones


def _baseline(out: str) -> tuple[float, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.db import connection

    from omniguichet.analytics.services import CONTACT_FIELDS

    started = time.perf_counter()
    columns = ", ".join(CONTACT_FIELDS)
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM crm_contact ORDER BY id")
        while rows := cursor.fetchmany(100_000):
            batches.append(pa.Table.from_pylist([dict(zip(CONTACT_FIELDS, r, strict=True)) for r in rows]))
    table = pa.concat_tables(batches)
    pq.write_table(table, os.path.join(out, "baseline.parquet"), compression="zstd")
    return time.perf_counter() - started, table.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=2_000_000)
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="bench-warehouse-")
    url = _database_url(os.environ.get("DATABASE_URL"), var_dir, "wh")
    os.environ.setdefault("OMNIGUICHET_PSEUDONYM_KEY", "bench-warehouse")
    _setup(url, var_dir)
    from django.db import connection
    from django.utils import timezone

    from omniguichet.analytics import services
    from omniguichet.core.actors import Actor, Channel
    from omniguichet.crm.models import Contact
    from omniguichet.demo import services as demo

    started = time.perf_counter()
    demo.seed_population(persons=args.persons, seed=42)
    demo.seed_contacts(count=args.contacts, seed=42)
    print(
        f"{connection.vendor}: seeded {args.persons:,} persons and {args.contacts:,} contacts in "
        f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}"
    )
    actor = Actor.system("bench")
    out = os.path.join(var_dir, "warehouse")

    seconds, rows = _baseline(var_dir)
    print(
        f"baseline (one SELECT -> one Parquet file): {rows:,} contacts in {seconds:.2f} s ({rows / seconds:,.0f}/s)"
    )
    base = seconds

    started = time.perf_counter()
    report = services.export_warehouse(actor=actor, channel=Channel.BACKOFFICE, out=out)
    seconds = time.perf_counter() - started
    print(
        f"full export: {report.contacts:,} contacts in {report.parts} parts, {report.persons:,} persons, "
        f"{seconds:.2f} s ({report.contacts / seconds:,.0f} contacts/s; {seconds / base:.1f}x the baseline)"
    )

    started = time.perf_counter()
    again = services.export_warehouse(actor=actor, channel=Channel.BACKOFFICE, out=out)
    print(f"export with nothing new: {time.perf_counter() - started:.2f} s (wrote {again.parts} parts)")

    rng = random.Random(7)
    parts_total = report.parts
    recent_from = report.high_water - report.high_water // 20  # the latest 5 % of the contacts
    rounds = [
        ("recent (the latest 5 % of ids)", Contact.objects.filter(id__gt=recent_from), CHANGED),
        ("old and scattered (the other 95 %)", Contact.objects.filter(id__lte=recent_from), CHANGED // 10),
    ]
    for label, scope, count in rounds:
        emails = list(scope.filter(channel="email", responded_at__isnull=True).values_list("id", flat=True))
        calls = list(scope.filter(channel="phone", answered=True).values_list("id", flat=True))
        emails = rng.sample(emails, min(len(emails), count // 2))
        calls = rng.sample(calls, min(len(calls), count - len(emails)))
        started = time.perf_counter()
        updated = 0
        for i in range(0, len(emails), 1000):
            updated += Contact.objects.filter(pk__in=emails[i : i + 1000]).update(responded_at=timezone.now())
        for i in range(0, len(calls), 1000):
            updated += Contact.objects.filter(pk__in=calls[i : i + 1000]).update(answered=False)
        update_seconds = time.perf_counter() - started
        started = time.perf_counter()
        changed = services.export_warehouse(actor=actor, channel=Channel.BACKOFFICE, out=out)
        seconds = time.perf_counter() - started
        print(
            f"{updated:,} {label} contacts changed ({len(emails):,} e-mails answered, {len(calls):,} calls "
            f"corrected; update() with the change-log triggers: {update_seconds:.2f} s); export: "
            f"{changed.changed:,} rewritten in {changed.parts} of {parts_total} parts, {seconds:.2f} s"
        )
    print(f"load average when done: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
