"""Benchmark of deadlines (issue 17, section 5; docs/deadlines.md).

1. Deadlines computed per second, one process: the pure calendar (`referential.calendars.Calendar.deadline`) for
   each unit, and the service (`crm.services.deadline_and_due_soon`: the policy and the caisse's calendar from the
   process caches, then the deadline and the "due soon" instant), for instants spread over 2026 and the 101
   caisses.
2. Re-timing: THREADS open conversations (bulk-inserted, spread over the 101 caisses and 6 motives), then the
   kind-wide "message" policy changed to working hours and `crm.services.retime_open_items(kind="message")`, the
   re-timing a saved policy runs in the worker (batches of 1,000: SELECT, compute, UPDATE).

    python -m bench.deadlines                                  # SQLite
    python -m bench.deadlines --threads 100000
    DATABASE_URL=postgres://... python -m bench.deadlines     # PostgreSQL: a fresh database in that cluster
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time

from bench.crm import _database_url
from bench.seed import _setup

MOTIVES = ["remboursement", "attestation_droits", "carte_vitale", "ij_suivi", "changement_rib", "reclamation"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--computations", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    with tempfile.TemporaryDirectory() as var_dir:
        _setup(_database_url(base_url, var_dir, "deadlines"), var_dir)
        print(
            f"deadlines bench on {engine}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC"
        )
        _computations(args.computations)
        _retiming(args.threads, args.batch)


def _instants(n: int, rng: random.Random) -> list[dt.datetime]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [start + dt.timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(n)]


def _computations(n: int) -> None:
    from omniguichet.crm.models import DeadlinePolicy
    from omniguichet.crm.services import deadline_and_due_soon, forget_policies
    from omniguichet.referential.models import Caisse
    from omniguichet.referential.services import caisse_calendar

    rng = random.Random(5)
    instants = _instants(n, rng)
    codes = list(Caisse.objects.values_list("code", flat=True))
    calendar = caisse_calendar("751")
    for unit, duration in (("calendar_hours", 48), ("working_hours", 48), ("working_days", 10)):
        best = float("inf")
        for _ in range(3):  # the best of 3: the shared machine's load disturbs single runs
            started = time.perf_counter()
            for instant in instants:
                calendar.deadline(instant, duration, unit)
            best = min(best, time.perf_counter() - started)
        print(f"  Calendar.deadline, {duration} {unit}: {n / best:10,.0f} /s")
    for code in codes:  # every caisse's calendar in the process cache, as in a running server
        caisse_calendar(code)
    pairs = [(rng.choice(codes), rng.choice(MOTIVES)) for _ in range(n)]
    for label, duration, unit in (
        ("48 calendar hours", 48, "calendar_hours"),
        ("16 working hours", 16, "working_hours"),
    ):
        DeadlinePolicy.objects.filter(kind="message", motive=None).update(duration=duration, unit=unit)
        forget_policies()
        deadline_and_due_soon(kind="message", caisse="751", received_at=instants[0])
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for instant, (code, motive) in zip(instants, pairs, strict=True):
                deadline_and_due_soon(kind="message", motive=motive, caisse=code, received_at=instant)
            best = min(best, time.perf_counter() - started)
        print(f"  deadline_and_due_soon, policy {label}, 101 caisses: {n / best:10,.0f} /s")
    DeadlinePolicy.objects.filter(kind="message", motive=None).update(duration=48, unit="calendar_hours")
    forget_policies()


def _retiming(threads: int, batch: int) -> None:
    from django.db import connection, transaction

    from omniguichet.crm.models import DeadlinePolicy
    from omniguichet.crm.services import forget_policies, retime_open_items
    from omniguichet.demo.services import seed_population
    from omniguichet.messaging.models import Thread
    from omniguichet.referential.models import Person

    seed_population(persons=2000, seed=42)
    persons = list(Person.objects.values_list("pk", "caisse_id"))
    rng = random.Random(9)
    instants = _instants(threads, rng)
    started = time.perf_counter()
    with transaction.atomic():
        rows = []
        for n, since in enumerate(instants):
            person, caisse = persons[n % len(persons)]
            rows.append(
                Thread(
                    person_id=person,
                    caisse_id=caisse,
                    motive_id=MOTIVES[n % len(MOTIVES)],
                    subject="Question",
                    status="waiting",
                    opened_at=since,
                    last_message_at=since,
                    waiting_since=since,
                    deadline=since + dt.timedelta(hours=48),
                    due_soon_at=since + dt.timedelta(hours=38.4),
                )
            )
        Thread.objects.bulk_create(rows, batch_size=5000)
    print(f"  seeded {threads:,} waiting threads in {time.perf_counter() - started:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE messaging_thread")
    DeadlinePolicy.objects.filter(kind="message", motive=None).update(duration=16, unit="working_hours")
    forget_policies()
    started = time.perf_counter()
    count = retime_open_items(kind="message", batch=batch)
    elapsed = time.perf_counter() - started
    assert count == threads, count
    sample = Thread.objects.order_by("pk").first()
    assert sample is not None and sample.deadline != sample.waiting_since + dt.timedelta(hours=48)
    print(
        f"  re-timed {count:,} threads (16 working hours, batches of {batch:,}) in {elapsed:.1f} s: "
        f"{count / elapsed:,.0f} threads/s"
    )


if __name__ == "__main__":
    main()
