"""Benchmark of cases and outbound messages (issue #5): case-event ingestion with rule evaluation and ledger writes,
and dispatch of the ledger to the file sink.

Each figure comes with a baseline measured in the same run, on the same database:
- ingestion: the same number of event rows written raw (`bulk_insert_rows`: COPY on PostgreSQL, executemany on
  SQLite) into the event table, in a transaction rolled back — the database floor of storing the events;
- dispatch: the same messages written straight to a JSON-lines file (one fsync), with no ledger nor database.

    python -m bench.outreach                                   # SQLite, 20,000 persons, 2 x 50,000 events
    python -m bench.outreach --persons 50000 --events 150000   # the size of bench/RESULTS.md (a few minutes)
    DATABASE_URL=postgres://... python -m bench.outreach      # PostgreSQL: a fresh database in that cluster
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import platform
import pstats
import tempfile
import time
import zlib
from concurrent.futures import ProcessPoolExecutor

from bench.crm import _database_url
from bench.seed import _setup

INGEST_PER_S = 5_000  # on PostgreSQL (issue #5)
DISPATCH_PER_S = 2_000
BATCH = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument(
        "--senders", type=int, default=2,
        help="then as many back-office systems at once, each its own cases (0: skip)",
    )  # fmt: skip
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="cProfile the ingestion into FILE (pstats), the dispatch into FILE.dispatch",
    )
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="bench-outreach-")
    url = _database_url(os.environ.get("DATABASE_URL"), var_dir)
    os.environ["OUTREACH_OUTBOX_DIR"] = os.path.join(var_dir, "outbox")
    _setup(url, var_dir)

    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from omniguichet.cases.models import Case, CaseEvent
    from omniguichet.cases.services import EVENT_COLUMNS, ingest_case_events
    from omniguichet.core.actors import Actor
    from omniguichet.core.db import bulk_insert_rows
    from omniguichet.demo.backoffice import generate_events
    from omniguichet.demo.services import seed_population
    from omniguichet.outreach.models import OutboundMessage
    from omniguichet.outreach.services import drain
    from omniguichet.referential.models import Person

    engine = (
        f"{connection.vendor} {connection.Database.sqlite_version if connection.vendor == 'sqlite' else ''}"
    )
    print(f"database: {engine.strip()} · {platform.node()} · {os.cpu_count()} cores")
    seed_population(persons=args.persons, seed=42)
    person_ids = list(Person.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    # Cases opened over the last 25 days: every event is recent enough to trigger its rules.
    events = list(generate_events(count=args.events, person_ids=person_ids, seed=11, within_days=25))
    payloads = [json.dumps(events[i : i + BATCH]).encode() for i in range(0, len(events), BATCH)]

    # 1. Ingestion (JSON parsing included, as the API does it), batches of 10,000.
    actor = Actor.system("bench")
    profiler = None
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    cpu_before = _cpu_seconds(connection)
    started = time.perf_counter()
    statuses: dict[str, int] = {}
    for body in payloads:
        report = ingest_case_events(actor=actor, rows=json.loads(body), source="bench")
        for result in report.results:
            statuses[result.status] = statuses.get(result.status, 0) + 1
    ingest_seconds = time.perf_counter() - started
    cpu_after = _cpu_seconds(connection)
    client_cpu = cpu_after[0] - cpu_before[0]
    server_cpu = None if cpu_after[1] is None or cpu_before[1] is None else cpu_after[1] - cpu_before[1]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)

    # 1b. Sustained: as many senders at once as --senders (back-office systems, or server workers), each with its
    # own cases (a case's events come from one system, in order), in forked processes with their own connections.
    parallel_rate, parallel_seconds, parallel_statuses = 0.0, 0.0, {}
    more = list(generate_events(count=args.events, person_ids=person_ids, seed=12, within_days=25))
    if args.senders:
        streams = [
            [e for e in more if zlib.crc32(e["case_reference"].encode()) % args.senders == i]
            for i in range(args.senders)
        ]
        jobs = [[json.dumps(st[i : i + BATCH]) for i in range(0, len(st), BATCH)] for st in streams]
        connection.close()
        started = time.perf_counter()
        with ProcessPoolExecutor(args.senders, mp_context=multiprocessing.get_context("fork")) as pool:
            for counts in pool.map(_send, jobs):
                for status, n in counts.items():
                    parallel_statuses[status] = parallel_statuses.get(status, 0) + n
        parallel_seconds = time.perf_counter() - started
        parallel_rate = len(more) / parallel_seconds
    messages = OutboundMessage.objects.count()

    # Baseline: the same number of event rows written raw, rolled back.
    case_ids = list(Case.objects.values_list("pk", flat=True)[: len(events)])
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (f"raw-{i}", case_ids[i % len(case_ids)], 10_000 + i, e["type"], now, json.dumps(e["payload"]), "applied",
         "bench", now, now)
        for i, e in enumerate(events)
    ]  # fmt: skip
    started = time.perf_counter()
    try:
        with transaction.atomic():
            for i in range(0, len(rows), BATCH):
                bulk_insert_rows(CaseEvent, EVENT_COLUMNS, rows[i : i + BATCH])
            raw_seconds = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass

    # 2. Dispatch of everything queued (quiet hours lifted: the bench may run at night; the SMS deferred by the
    # frequency cap become due too, and are merged into digests as they would be when released).
    from django.conf import settings

    settings.OUTREACH_SMS_QUIET_FROM, settings.OUTREACH_SMS_QUIET_UNTIL = 24, 0
    OutboundMessage.objects.filter(state="queued").update(not_before=timezone.now() - dt.timedelta(hours=1))
    queued = OutboundMessage.objects.filter(state="queued").count()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    sent = drain().sent
    dispatch_seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{args.profile}.dispatch")
    merged = OutboundMessage.objects.filter(state="merged").count()
    digests = OutboundMessage.objects.filter(rule="digest").count()
    by_channel = dict(
        OutboundMessage.objects.values_list("channel").annotate(n=__import__("django").db.models.Count("id"))
    )

    # Baseline: the same messages written straight to a JSON-lines file.
    texts = list(
        OutboundMessage.objects.exclude(state="merged").values_list("idempotency_key", "recipient", "body")
    )
    started = time.perf_counter()
    with open(os.path.join(var_dir, "baseline.jsonl"), "w") as handle:
        for key, to, body in texts:
            handle.write(json.dumps({"key": key, "to": to, "text": body}, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    file_seconds = time.perf_counter() - started

    ingest_rate = len(events) / ingest_seconds
    raw_rate = len(events) / raw_seconds
    dispatch_rate = sent / dispatch_seconds if dispatch_seconds else 0
    file_rate = len(texts) / file_seconds if file_seconds else 0
    on_postgresql = connection.vendor == "postgresql"

    def verdict(rate: float) -> str:
        if not on_postgresql:
            return "(the target is for PostgreSQL)"
        return f"target {INGEST_PER_S:,}/s on PostgreSQL: {'met' if rate >= INGEST_PER_S else 'MISSED'}"

    print(f"events: {len(events):,} ({statuses}) + {len(more):,} ({parallel_statuses}); messages written: "
          f"{messages:,} {by_channel}")  # fmt: skip
    print(
        f"ingestion: {ingest_rate:,.0f} events/s ({ingest_seconds:.1f} s) · raw event insert {raw_rate:,.0f} rows/s "
        f"· ratio {raw_rate / ingest_rate:.1f}x · {verdict(ingest_rate)}"
    )
    if args.senders:
        print(
            f"ingestion, {args.senders} senders at once: {len(more):,} events in {parallel_seconds:.1f} s = "
            f"{parallel_rate:,.0f} events/s sustained · ratio to the raw insert {raw_rate / parallel_rate:.1f}x · "
            f"{verdict(parallel_rate)}"
        )
    busy = client_cpu + (server_cpu or 0.0)
    print(
        f"ingestion CPU: this process {client_cpu:.1f} s"
        + (f" + its database backend {server_cpu:.1f} s" if server_cpu is not None else "")
        + f" = {len(events) / busy:,.0f} events per CPU-second (what a machine to itself would approach: the two "
        "take turns; the WAL flushes of the commits are not counted)"
    )
    print(
        f"dispatch: {sent:,}/{queued:,} messages in {dispatch_seconds:.1f} s = {dispatch_rate:,.0f} messages/s · "
        f"plain file {file_rate:,.0f}/s · ratio {file_rate / dispatch_rate if dispatch_rate else 0:.1f}x · target "
        f"{DISPATCH_PER_S:,}/s: {'met' if dispatch_rate >= DISPATCH_PER_S else 'MISSED'}"
        f" · beyond the SMS cap: {merged:,} merged into {digests:,} digests"
    )


def _send(bodies: list[str]) -> dict[str, int]:
    """One sender, in its own process: its batches one after the other; the count of each row status."""
    from django.db import connection

    from omniguichet.cases.services import ingest_case_events
    from omniguichet.core.actors import Actor

    counts: dict[str, int] = {}
    try:
        for body in bodies:
            report = ingest_case_events(actor=Actor.system("bench"), rows=json.loads(body), source="bench")
            for result in report.results:
                counts[result.status] = counts.get(result.status, 0) + 1
    finally:
        connection.close()
    return counts


def _cpu_seconds(connection) -> tuple[float, float | None]:
    """CPU time used so far by this process and by its PostgreSQL backend (read from /proc: same machine)."""
    client = time.process_time()
    if connection.vendor != "postgresql":
        return client, None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return client, None
    return client, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Rollback(Exception):
    pass


if __name__ == "__main__":
    main()
