"""National-size benchmark (issue 18, section 3): one PostgreSQL database growing to 10 M persons and 200 M
contacts over three years, measured at each step of its growth.

    DATABASE_URL=postgres://... python -m bench.national                  # 10 M persons, steps 20,50,100,150,200 M
    DATABASE_URL=postgres://... python -m bench.national --persons 200000 --steps 1,2
    make bench-national                                                    # in a throwaway pg_virtualenv cluster
    DATABASE_URL=postgres://... python -m bench.national --resume /work/national --stop-at 18:30   # across sessions

A fresh database in the cluster of DATABASE_URL gets the persons once (`seed_population`), then contacts in steps
(`seed_contacts`, COPY, three years of history before today; each step appends another history to the same
persons, spread over the whole three years, in chunks committed one by one with the indexes maintained; the first
step goes into an empty table and builds the indexes at the end). After each step, with the helpers of bench.crm
(WSGI handler called in-process, raw-SQL baseline):
- record: GET /persons/{id}/record of random persons and of the 10 busiest of 20,000 sampled ones, p99;
- search: GET /persons/search of NIRs, names + birth dates, phones, e-mails, p99;
- ingestion: POST /contacts of one day's contacts at 200 M (200 M / 1,095 days: 182,648, rounded up to batches of
  10,000), one sender for three batches then 2 senders in parallel processes for the rest (the sustained figure);
- export: `export_warehouse` of those contacts. The export is incremental by contact id (it cannot select a day
  by date): before the ingestion, the warehouse is marked as holding every contact already in the database (an
  empty part named after the highest id, in a month folder, and the export state's floors at the current
  maxima), as after the previous day's run; the timed run then writes the day ingested, checks the change log
  and fingerprints the persons, as the hourly or daily run of a platform does. Its person parts were written
  once, after the persons were seeded;
- disk: the contact table with its indexes (summed over its partitions when it is partitioned by month), its
  heap and index shares, and the whole database (pg_database_size).
A step starts only if its contacts fit on the disk while keeping --keep-free-gb free (from the bytes per contact
measured so far) and if it can end before --stop-at; a step that would cross either limit stops where it is
(its chunks committed so far stay) and is measured there. At the end, the figures at 200 M are extrapolated by a
least-squares line through all the measured points (at least two), never from one: the disk against the number of
contacts (its slope is the disk per 100 M contacts), latencies and rates against its logarithm (per doubling).

`--resume DIR`: growing to 200 M takes longer than one sitting on a small machine, so the database can be kept in a
cluster that outlives the run (not a pg_virtualenv one) and grown again later. DIR holds `state.json` (the
database's URL, the contacts so far, the steps measured) and the warehouse; the first run with an empty DIR
creates the database there as usual; a later run with the same DIR migrates the database (the code may have moved
on), skips the persons and goes on with the first step above the contacts already there. The report then takes
every step measured, of this run and the earlier ones, each with its own date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.crm import (
    BATCH,
    INGEST_PER_S,
    RECORD_P99_MS,
    SAMPLES,
    SEARCH_P99_MS,
    SENDERS,
    _database_url,
    _ingestion_batches,
    _measure,
    _ms,
    _search_urls,
    _send_batches,
    _verdict,
    _WsgiClient,
)
from bench.seed import _setup

HISTORY_DAYS = 3 * 365
EXPORT_MAX_S = 60.0  # issue 18: the warehouse export of one day's contacts
TARGET_CONTACTS = 200_000_000
# Contacts ingested then exported at each step: one day of the 200 M target (three years of contacts), whatever
# the step's size, so that the export of a day is timed on the target's day at every size of the table.
DAY = TARGET_CONTACTS // HISTORY_DAYS
ONE_SENDER_BATCHES = 3
BUSIEST_SAMPLE = 20_000
GB = 1024**3


class _Stop(Exception):
    """Raised from the seed's progress callback when the clock or the disk says stop."""


@dataclass
class Step:
    contacts: int
    seed_seconds: float
    seed_rate: float
    record_p50: float
    record_p99: float
    record_raw_p99: float
    busiest: int
    search_p50: float
    search_p99: float
    search_raw_p99: float
    ingest_one: float
    ingest_parallel: float
    day: int
    export_seconds: float
    exported: int
    contact_bytes: int
    heap_bytes: int
    index_bytes: int
    database_bytes: int
    free_bytes: int
    load: float
    partitions: int
    key_bytes: int = 0
    stopped: str = ""
    measured_at: str = ""  # UTC, minutes
    # Why this step's latencies and rates are not results (the machine was busy with something else): its disk
    # figures stay in the fits, its timings do not (--void-timings).
    timings_void: str = ""


def _steps(text: str) -> list[int]:
    try:
        steps = [round(float(part) * 1_000_000) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of millions (e.g. 20,50,100)"
        ) from None
    if not steps or any(s <= 0 for s in steps) or steps != sorted(set(steps)):
        raise argparse.ArgumentTypeError(
            f"{text!r} must be positive totals in millions, increasing (e.g. 20,50,100)"
        )
    return steps


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _clock(text: str) -> dt.datetime:
    """HH:MM UTC today (or tomorrow if already past)."""
    try:
        at = dt.datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a UTC time HH:MM") from None
    now = dt.datetime.now(dt.UTC)
    when = dt.datetime.combine(now.date(), at, dt.UTC)
    return when if when > now else when + dt.timedelta(days=1)


def _free() -> int:
    return shutil.disk_usage("/").free


def _sql(query: str, params: list | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return list(cursor.fetchall()) if cursor.description is not None else []


def _partitioned() -> bool:
    return bool(_sql("SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'crm_contact'::regclass"))


def _prepare_partitions(first_day: dt.date) -> str:
    """When the contact table is partitioned by month (issue 18 section 3), the months of the history get their
    partitions before the seed, as a database that grew over three years has them (the migration only creates
    the current and coming months; older rows would all land in the default partition)."""
    if not _partitioned():
        return "one table"
    partitions = importlib.import_module("omniguichet.core.partitions")
    column = partitions.partitioned_tables()["crm_contact"]
    wanted = partitions.months(first_day, dt.date.today())
    partitions.create_months("crm_contact", column, wanted)
    return f"partitioned by month of {column} ({len(partitions.partitions('crm_contact'))} partitions)"


def _disk() -> tuple[int, int, int, int, int]:
    """(table + indexes, heap, indexes, database, partitions) of the contact table, over its partitions."""
    if _partitioned():
        rows = _sql(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0), coalesce(sum(pg_relation_size(relid)), 0),"
            " coalesce(sum(pg_indexes_size(relid)), 0), count(*) FILTER (WHERE isleaf)"
            " FROM pg_partition_tree('crm_contact')"
        )
    else:
        rows = _sql(
            "SELECT pg_total_relation_size('crm_contact'), pg_relation_size('crm_contact'),"
            " pg_indexes_size('crm_contact'), 1"
        )
    total, heap, indexes, parts = rows[0]
    database = _sql("SELECT pg_database_size(current_database())")[0][0]
    return int(total), int(heap), int(indexes), int(database), int(parts)


def _key_table_bytes() -> int:
    """The key table of the contacts' external ids (crm_contactkey, written by triggers once the contact table is
    partitioned; absent before): only the ingested contacts have a key, not the seeded history."""
    rows = _sql("SELECT pg_total_relation_size(to_regclass('crm_contactkey'))")
    return int(rows[0][0] or 0)


def _record_urls(rng: random.Random) -> tuple[list[str], int]:
    """Random persons and the 10 busiest of BUSIEST_SAMPLE sampled ones (bench.crm takes the 10 busiest of all,
    a GROUP BY over the whole table: minutes at this size)."""
    from django.db.models import Max

    from omniguichet.referential.models import Person

    max_id = Person.objects.aggregate(m=Max("id"))["m"]
    sample = rng.sample(range(1, max_id + 1), min(BUSIEST_SAMPLE, max_id))
    busiest = _sql(
        "SELECT person_id, count(*) FROM crm_contact WHERE person_id = ANY(%s) GROUP BY person_id"
        " ORDER BY 2 DESC LIMIT 10",
        [sample],
    )
    ids = {pid for pid, _n in busiest}
    while len(ids) < SAMPLES:
        ids.add(rng.randint(1, max_id))
    order = sorted(ids)
    rng.shuffle(order)
    return [f"/api/v1/persons/{pid}/record?purpose=bench" for pid in order], (busiest[0][1] if busiest else 0)


def _mark_exported(out: Path) -> None:
    """The warehouse holds every contact in the database now, as after yesterday's run (see the docstring)."""
    import pyarrow.parquet as pq

    from omniguichet.analytics.services.common import EXPORT_STATE, MONTH_PREFIX, _contacts_arrow

    contacts, changes = _sql(
        "SELECT (SELECT coalesce(max(id), 0) FROM crm_contact), (SELECT coalesce(max(id), 0) FROM crm_contactchange)"
    )[0]
    folder = out / "contacts"
    # In a month folder (the warehouse's Hive layout): a part left at the top would be moved by the export.
    month = folder / f"{MONTH_PREFIX}{dt.date.today():%Y-%m}"
    month.mkdir(parents=True, exist_ok=True)
    pq.write_table(_contacts_arrow().empty_table(), month / f"part-{contacts:012d}-{contacts:012d}.parquet")
    (folder / EXPORT_STATE).write_text(
        json.dumps({"floor": contacts, "changes_floor": changes, "pending": []})
    )


def _export(out: Path) -> tuple[float, int]:
    from omniguichet.analytics.services import export_warehouse
    from omniguichet.core.actors import Actor, Channel

    started = time.perf_counter()
    report = export_warehouse(actor=Actor.system("bench"), channel=Channel.BACKOFFICE, out=out)
    return time.perf_counter() - started, report.contacts


def _ingest(secret: str, rng: random.Random, day: int) -> tuple[float, float, int]:
    """One day's contacts through POST /contacts: (one sender's rate, SENDERS senders' rate, contacts created)."""
    from django.db import connection
    from django.test import Client

    count = max(ONE_SENDER_BATCHES + SENDERS, math.ceil(day / BATCH))
    batches = _ingestion_batches(rng, uuid.uuid4().hex[:8], count)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
    created, seconds = 0, 0.0
    for body in batches[:ONE_SENDER_BATCHES]:
        started = time.perf_counter()
        response = client.post("/api/v1/contacts", data=body, content_type="application/json")
        seconds += time.perf_counter() - started
        assert response.status_code == 200, response.content[:300]
        created += response.json()["created"]
    one = created / seconds
    rest = batches[ONE_SENDER_BATCHES:]
    connection.close()  # the senders are forked: each opens its own connection
    started = time.perf_counter()
    with ProcessPoolExecutor(SENDERS, mp_context=multiprocessing.get_context("fork")) as pool:
        parallel = sum(pool.map(_send_batches, [(secret, rest[i::SENDERS]) for i in range(SENDERS)]))
    parallel_seconds = time.perf_counter() - started
    assert created + parallel == count * BATCH, (created, parallel)
    return one, parallel / parallel_seconds, created + parallel


def _fit(points: list[tuple[float, float]], at: float) -> tuple[float, float]:
    """Least-squares line through the points: (value at `at`, slope)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    slope, intercept = statistics.linear_regression(xs, ys)
    return intercept + slope * at, slope


def _row(s: Step) -> str:
    return (
        f"| {s.contacts / 1e6:,.1f} M{' (' + s.stopped + ')' if s.stopped else ''}"
        f"{' (timings void: ' + s.timings_void + ')' if s.timings_void else ''} "
        f"| {s.seed_rate:,.0f}/s | {s.record_p50:.2f} / **{s.record_p99:.2f}** ms "
        f"| {s.search_p50:.2f} / **{s.search_p99:.2f}** ms "
        f"| {s.ingest_one:,.0f} / **{s.ingest_parallel:,.0f}**/s "
        f"| {s.exported:,} in **{s.export_seconds:.1f} s** "
        f"| {s.contact_bytes / GB:.2f} GiB ({s.contact_bytes / s.contacts:.0f} B/contact; heap "
        f"{s.heap_bytes / GB:.2f}, indexes {s.index_bytes / GB:.2f}) | {s.database_bytes / GB:.2f} GiB "
        f"| {s.load:.1f} |"
    )


HEADER = (
    "| contacts | seed (COPY) | record p50 / p99 | search p50 / p99 | ingestion 1 / 2 senders | export of the day "
    "| contact table | database | load |\n|---|---|---|---|---|---|---|---|---|"
)


def _measure_step(
    *,
    contacts: int,
    seed_seconds: float,
    seeded: int,
    secret: str,
    out: Path,
    rng: random.Random,
    stopped: str,
) -> Step:
    from django.db import connection

    started = time.perf_counter()
    _sql("ANALYZE crm_contact")
    analyze_seconds = time.perf_counter() - started
    connection.close()  # measure on a fresh connection, with the settings every request gets
    client = _WsgiClient(secret)
    record_urls, busiest = _record_urls(rng)
    for url in record_urls[:20]:
        client.get(url)
    record = _measure(client, record_urls)
    search_cases = _search_urls(rng)
    for _kind, url in search_cases[:20]:
        client.get(url)
    search = _measure(client, [url for _kind, url in search_cases])
    _mark_exported(out)
    one, parallel, ingested = _ingest(secret, rng, DAY)
    export_seconds, exported = _export(out)
    assert exported == ingested, (exported, ingested)
    total, heap, indexes, database, parts = _disk()
    r50, _r95, r99 = _ms(record["endpoint"])
    s50, _s95, s99 = _ms(search["endpoint"])
    step = Step(
        contacts=contacts,
        seed_seconds=seed_seconds,
        seed_rate=seeded / seed_seconds if seed_seconds else 0.0,
        record_p50=r50,
        record_p99=r99,
        record_raw_p99=_ms(record["raw"])[2],
        busiest=busiest,
        search_p50=s50,
        search_p99=s99,
        search_raw_p99=_ms(search["raw"])[2],
        ingest_one=one,
        ingest_parallel=parallel,
        day=ingested,
        export_seconds=export_seconds,
        exported=exported,
        contact_bytes=total,
        heap_bytes=heap,
        index_bytes=indexes,
        database_bytes=database,
        free_bytes=_free(),
        load=os.getloadavg()[0],
        partitions=parts,
        key_bytes=_key_table_bytes(),
        stopped=stopped,
        measured_at=f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
    )
    print(
        f"  measured in {time.perf_counter() - started:.0f} s (ANALYZE {analyze_seconds:.0f} s); busiest record of "
        f"the sample: {busiest:,} contacts; raw SQL p99 record {step.record_raw_p99:.2f} ms, search "
        f"{step.search_raw_p99:.2f} ms; {ingested:,} contacts ingested then exported; {parts} contact "
        f"partition(s); key table {step.key_bytes / 1024**2:,.0f} MiB; {step.free_bytes / GB:.1f} GiB free on /",
        flush=True,
    )
    return step


def _report(steps: list[Step]) -> None:
    print("\n" + HEADER)
    for s in steps:
        print(_row(s))
    last = steps[-1]
    verdicts = [
        f"record p99 <= {RECORD_P99_MS:.0f} ms: {_verdict(last.record_p99 <= RECORD_P99_MS)}",
        f"search p99 <= {SEARCH_P99_MS:.0f} ms: {_verdict(last.search_p99 <= SEARCH_P99_MS)}",
        f"ingestion >= {INGEST_PER_S:,}/s ({SENDERS} senders): {_verdict(last.ingest_parallel >= INGEST_PER_S)}",
        f"export of a day <= {EXPORT_MAX_S:.0f} s: {_verdict(last.export_seconds <= EXPORT_MAX_S)}",
    ]
    print(f"\nAt {last.contacts:,} contacts (the largest step measured): " + "; ".join(verdicts))
    if len(steps) < 2:
        print("One measured point only: no extrapolation (it needs at least two).")
        return
    points = [s.contacts for s in steps]
    print(
        f"\nExtrapolated to {TARGET_CONTACTS / 1e6:.0f} M contacts (least-squares line through the "
        f"{len(steps)} measured points, {points[0] / 1e6:,.1f}-{points[-1] / 1e6:,.1f} M):"
    )
    per_100m = 100_000_000
    for label, key, unit, scale in (
        ("contact table + indexes", "contact_bytes", "GiB", GB),
        ("contact heap", "heap_bytes", "GiB", GB),
        ("contact indexes", "index_bytes", "GiB", GB),
        ("database", "database_bytes", "GiB", GB),
    ):
        value, slope = _fit([(s.contacts, getattr(s, key)) for s in steps], TARGET_CONTACTS)
        print(
            f"  {label}: {value / scale:,.1f} {unit} at 200 M; {slope * per_100m / scale:,.1f} {unit} per 100 M "
            f"contacts ({slope:.0f} bytes/contact, the slope)"
        )
    # Latencies and rates: against the logarithm of the size (what B-tree depth follows), per doubling of the
    # contacts; a trend within the noise of a shared machine is said to be one, not extrapolated.
    timed = [s for s in steps if not s.timings_void]
    if len(timed) < len(steps):
        print(
            f"  latencies and rates: through the {len(timed)} steps whose timings are results (not "
            + "; ".join(f"{s.contacts / 1e6:,.1f} M: {s.timings_void}" for s in steps if s.timings_void)
            + ")"
        )
    if len(timed) < 2:
        print("  latencies and rates: fewer than two steps with valid timings, no extrapolation")
        return
    doublings = math.log2(TARGET_CONTACTS / timed[-1].contacts)
    for label, key, unit, target, lower_is_better in (
        ("record p99", "record_p99", "ms", RECORD_P99_MS, True),
        ("search p99", "search_p99", "ms", SEARCH_P99_MS, True),
        ("ingestion (2 senders)", "ingest_parallel", "/s", INGEST_PER_S, False),
        ("export of a day", "export_seconds", "s", EXPORT_MAX_S, True),
    ):
        values = [getattr(s, key) for s in timed]
        log_points = [(math.log2(s.contacts), v) for s, v in zip(timed, values, strict=True)]
        value, per_doubling = _fit(log_points, math.log2(TARGET_CONTACTS))
        worse = per_doubling > 0 if lower_is_better else per_doubling < 0
        measured = f"measured {min(values):,.2f}-{max(values):,.2f} {unit}"
        if not worse:
            last = values[-1]
            ok = last <= target if lower_is_better else last >= target
            print(
                f"  {label}: {measured}, no worsening trend ({per_doubling:+,.2f} {unit} per doubling); at the "
                f"largest step {last:,.2f} {unit} against the target {target:,.0f} {unit}: {_verdict(ok)}"
            )
            continue
        if value <= 0:  # a rate's line reaching zero: say what was measured, not a negative rate
            print(
                f"  {label}: {measured}; {per_doubling:+,.2f} {unit} per doubling of the contacts: the line reaches "
                f"zero before 200 M; below the lowest measured ({min(values):,.2f} {unit}); target "
                f"{target:,.0f} {unit}: {_verdict(False)}"
            )
            continue
        ok = value <= target if lower_is_better else value >= target
        print(
            f"  {label}: {measured}; {per_doubling:+,.2f} {unit} per doubling of the contacts -> {value:,.2f} {unit} "
            f"at 200 M ({doublings:.1f} doublings past the largest step); target {target:,.0f} {unit}: "
            f"{_verdict(ok)} if the trend holds"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=_positive, default=10_000_000)
    parser.add_argument(
        "--steps", type=_steps, default=_steps("20,50,100,150,200"), help="contact totals, in millions"
    )
    parser.add_argument("--keep-free-gb", type=float, default=25.0, help="free disk space a step must leave")
    parser.add_argument("--stop-at", type=_clock, default=None, help="UTC time HH:MM when seeding must stop")
    parser.add_argument("--json", type=Path, default=None, help="also write the measured steps there (JSON)")
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="keep the database and its state in DIR, and grow it again later",
    )
    parser.add_argument(
        "--void-timings",
        metavar="MILLIONS:REASON",
        action="append",
        default=[],
        help="with --resume: the step measured at about that many million contacts keeps its disk figures, but its "
        "latencies and rates leave the extrapolation, for that reason (e.g. '70.9:a test suite was running')",
    )
    args = parser.parse_args()
    if args.void_timings and args.resume is None:
        parser.error("--void-timings needs --resume (it marks steps kept in the state)")
    if args.keep_free_gb < 0:
        parser.error("--keep-free-gb must be 0 or more")
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        parser.error("DATABASE_URL must point to a PostgreSQL cluster (see `make bench-national`)")
    os.environ.setdefault("OMNIGUICHET_PSEUDONYM_KEY", "bench-national")
    if args.resume is not None:
        args.resume.mkdir(parents=True, exist_ok=True)
        state = _load_state(args.resume)
        if state is None:
            state = {"database_url": _database_url(base_url, str(args.resume), "national"), "persons": 0}
            _save_state(args.resume, state)
        elif state["persons"] and state["persons"] != args.persons:
            parser.error(f"{args.resume} holds {state['persons']:,} persons: --persons {state['persons']}")
        _setup(state["database_url"], str(args.resume))
        steps = _bench(args, args.resume / "warehouse", state=state)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-national-") as var_dir:
            _setup(_database_url(base_url, var_dir, "national"), var_dir)
            steps = _bench(args, Path(var_dir) / "warehouse")
    if args.json and steps:
        args.json.write_text(json.dumps([asdict(s) for s in steps], indent=1))


STATE = "state.json"


def _load_state(folder: Path) -> dict | None:
    path = folder / STATE
    return json.loads(path.read_text()) if path.exists() else None


def _void_timings(steps: list[Step], marks: list[str]) -> None:
    """`MILLIONS:REASON` marks: the step nearest that size (within 5 %) gets the reason; no such step is an error."""
    for mark in marks:
        size, _sep, reason = mark.partition(":")
        try:
            contacts = float(size) * 1e6
        except ValueError:
            raise SystemExit(
                f"--void-timings {mark!r}: MILLIONS:REASON, e.g. 70.9:a test suite was running"
            ) from None
        if not reason.strip():
            raise SystemExit(f"--void-timings {mark!r}: give the reason after the colon")
        near = [s for s in steps if abs(s.contacts - contacts) <= 0.05 * contacts]
        if not near:
            sizes = ", ".join(f"{s.contacts / 1e6:,.1f}" for s in steps)
            raise SystemExit(f"--void-timings {mark!r}: no step measured near {size} M (steps: {sizes} M)")
        near[0].timings_void = reason.strip()


def _save_state(folder: Path, state: dict) -> None:
    """Written whole then renamed: a run stopped while writing leaves the previous state."""
    path = folder / STATE
    path.with_suffix(".tmp").write_text(json.dumps(state, indent=1))
    path.with_suffix(".tmp").replace(path)


def _bench(args: argparse.Namespace, out: Path, state: dict | None = None) -> list[Step]:
    from omniguichet.core.services import issue_token
    from omniguichet.demo.services import ensure_demo_users, seed_contacts, seed_population
    from omniguichet.referential.models import User

    version = _sql("SHOW server_version")[0][0].split()[0]
    settings = dict(
        _sql("SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size')")
    )
    print(
        f"national bench on PostgreSQL {version} (shared_buffers {int(settings['shared_buffers']) * 8 // 1024} MB),"
        f" {args.persons:,} persons, steps {', '.join(f'{s / 1e6:g} M' for s in args.steps)} contacts over "
        f"{HISTORY_DAYS} days; {os.cpu_count()} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load "
        f"{os.getloadavg()[0]:.1f}; {_free() / GB:.1f} GiB free on /",
        flush=True,
    )
    ensure_demo_users()
    _token, secret = issue_token(user=User.objects.get(username="supervisor"), label="bench")
    keep_free = args.keep_free_gb * GB

    earlier: list[Step] = []  # measured by earlier runs on the same database (--resume)
    if state is not None and state["persons"]:
        earlier = [Step(**s) for s in state.get("steps", [])]
        if args.void_timings:
            _void_timings(earlier, args.void_timings)
            state["steps"] = [asdict(s) for s in earlier]
            _save_state(args.resume, state)
        # Counted, not taken from the state: a run stopped while seeding leaves the chunks it committed.
        state["total"] = _sql("SELECT count(*) FROM crm_contact")[0][0]
        print(
            f"  resumed: {state['persons']:,} persons and {state['total']:,} contacts already there "
            f"({len(earlier)} step(s) measured before)",
            flush=True,
        )
    else:
        started = time.perf_counter()
        seed_population(persons=args.persons, seed=42)
        seconds = time.perf_counter() - started
        print(f"  persons: {seconds:.0f} s ({args.persons / seconds:,.0f}/s)", flush=True)
        layout = _prepare_partitions(dt.date.today() - dt.timedelta(days=HISTORY_DAYS))
        print(f"  contact table: {layout}", flush=True)
        seconds, _none = _export(out)
        print(f"  first warehouse export (the persons' parts, no contact yet): {seconds:.0f} s", flush=True)
        if state is not None:
            state.update(persons=args.persons, total=0, runs=0, steps=[])
            if args.resume is not None:
                _save_state(args.resume, state)

    rng = random.Random(2026 + (state or {}).get("runs", 0))
    steps: list[Step] = list(earlier)
    seeded = 0  # contacts seeded by this run; the ingested ones are added to `total`
    total = (state or {}).get("total", 0)
    if state is not None and args.resume is not None:
        state["runs"] = state.get("runs", 0) + 1
        _save_state(args.resume, state)
    bytes_per_contact = 250.0  # until measured: the brief's upper guess with indexes
    measure_seconds = 0.0
    for index, target in enumerate(args.steps):
        wanted = target - total
        if wanted <= 0:
            continue
        stopped = ""
        if steps:
            bytes_per_contact = steps[-1].contact_bytes / steps[-1].contacts
        fits = int((_free() - keep_free) / (bytes_per_contact * 1.15))  # WAL and free space on top
        if fits < wanted:
            print(
                f"  step {target / 1e6:g} M: {wanted:,} more contacts need ~{wanted * bytes_per_contact / GB:.1f} "
                f"GiB, {_free() / GB:.1f} GiB free, {args.keep_free_gb:g} to keep: seeding what fits",
                flush=True,
            )
        added = 0
        empty = total == 0  # the first step loads in one transaction: an interrupted one leaves nothing
        started = time.perf_counter()

        def progress(
            rows: int,
            started: float = started,
            measured: float = measure_seconds,
            size: float = bytes_per_contact,
        ) -> None:
            nonlocal added
            added += rows
            if added % 5_000_000 < rows:
                print(
                    f"    {added:,} contacts ({added / (time.perf_counter() - started):,.0f}/s), "
                    f"{_free() / GB:.1f} GiB free, {dt.datetime.now(dt.UTC):%H:%M:%S}",
                    flush=True,
                )
            if args.stop_at is not None:
                rate = added / (time.perf_counter() - started)
                left = (args.stop_at - dt.datetime.now(dt.UTC)).total_seconds()
                if left < measured + 30_000 / rate:  # the next chunks and the measures would not fit
                    raise _Stop("time")
            if _free() - keep_free < 50_000 * size * 3:
                raise _Stop("disk")

        try:
            seed_contacts(
                count=min(wanted, max(fits, 0)),
                seed=42 + index + 100 * (state or {}).get("runs", 0),
                days=HISTORY_DAYS,
                progress=progress,
            )
            if fits < wanted:
                stopped = "disk"
        except _Stop as why:
            stopped = str(why)
        seconds = time.perf_counter() - started
        if empty and stopped:
            added = 0
        if not added:
            print(f"  step {target / 1e6:g} M: nothing seeded ({stopped or 'no room'}): stopping", flush=True)
            break
        seeded += added
        total += added
        print(
            f"  step {target / 1e6:g} M: {added:,} contacts seeded in {seconds:.0f} s ({added / seconds:,.0f}/s; "
            f"{'empty table, indexes built at the end' if empty else 'appended, indexes maintained'})"
            f"{'; stopped by the ' + stopped if stopped else ''}",
            flush=True,
        )
        measure_started = time.perf_counter()
        step = _measure_step(
            contacts=total,
            seed_seconds=seconds,
            seeded=added,
            secret=secret,
            out=out,
            rng=rng,
            stopped=stopped,
        )
        measure_seconds = time.perf_counter() - measure_started
        total += step.day
        step.contacts = total
        steps.append(step)
        if state is not None and args.resume is not None:
            state.update(total=total, steps=[asdict(s) for s in steps])
            _save_state(args.resume, state)
        print(HEADER + "\n" + _row(step), flush=True)
        if stopped:
            break
    if steps:
        _report(steps)
    print(
        f"load average when done: {os.getloadavg()[0]:.1f}; {dt.datetime.now(dt.UTC):%H:%M} UTC", flush=True
    )
    return steps


if __name__ == "__main__":
    sys.exit(main())
