"""Contact ingestion, layer by layer (issue 18 section 3: >= 20,000 contacts/s on PostgreSQL).

    DATABASE_URL=postgres://... python -m bench.ingest                       # 150,000 persons, 1.5 M contacts
    DATABASE_URL=postgres://... python -m bench.ingest --persons 50000 --contacts 500000 --batches 4
    DATABASE_URL=postgres://... python -m bench.ingest --persons 10000000 --contacts 4000000 --sustained-batches 200
    make bench-ingest                                                         # in a throwaway pg_virtualenv cluster

A fresh database in the cluster of DATABASE_URL gets persons and a contact history with the seed's own COPY
helpers (`seed_population`, `seed_contacts`, partitions by month as the national bench makes them). Then, in the
same run and on the same table:

- the floor: a raw COPY of the rows a batch writes (the same columns, ids drawn from the sequence) into the
  contact table, with its indexes and its key-table trigger, then commit; and the same COPY with the key trigger
  disabled (rolled back), which gives the trigger's share;
- the endpoint: POST /api/v1/contacts (batches of 10,000 rows, JSON) through Django's WSGI handler in this
  process, as a WSGI server calls it, each layer timed by wrapping the functions of the ingestion module (the JSON
  parse, the per-row checks, the person look-up, the external-id check, the id reservation, the COPY, the commit;
  the rest is the framework and the response); the CPU of this process and of its PostgreSQL backend (/proc);
- a replay of one batch (every row a duplicate: nothing written);
- with `--sustained-batches N`: from a CHECKPOINT, N more batches by the parallel senders, the rate by window of
  `--window` seconds (after a checkpoint the first change of each person's page, by the foreign-key check's row
  lock, writes the whole page to the WAL: docs/scale.md, "Ingestion at national size").

Each phase prints the WAL it wrote per contact; the header prints the cluster's WAL and checkpoint settings.

The endpoint's rate is reported as a ratio of the floor's. The CPU per contact of each side gives the cores a
target rate needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.crm import BATCH, INGEST_PER_S, _database_url, _ingestion_batches
from bench.messaging import _cpu_seconds  # a PostgreSQL backend has no children: its own CPU
from bench.national import _positive
from bench.seed import _setup

HISTORY_DAYS = 3 * 365


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _wal_position() -> int:
    """The WAL's write position in bytes (the difference between two readings is the WAL written meanwhile)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
        return int(cursor.fetchone()[0])


def _checkpoint() -> None:
    """Start from a checkpoint: the first change of every page after it writes the whole page to the WAL (a
    full-page image), which is where a sustained ingestion is slowest (docs/scale.md, "Ingestion at national size")."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


class _Post:
    """POST requests through Django's WSGI handler in this process, with a bearer token (see bench.crm)."""

    def __init__(self, secret: str) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.authorization = f"Bearer {secret}"

    def post(self, path: str, body: bytes) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SCRIPT_NAME": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "localhost",
            "HTTP_AUTHORIZATION": self.authorization,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
        }
        statuses: list[str] = []
        response = self.handler(environ, lambda status, headers: statuses.append(status))
        try:
            content = b"".join(response)
        finally:
            response.close()
        return statuses[0], content


# The layers timed by wrapping a function: (label, module, attribute). Nested ones are subtracted from their
# enclosing layer when printed (the COPY and the id reservation run inside the write).
LAYERS = [
    ("JSON parse (parse_contact_rows)", "omniguichet.crm.api", "services.parse_contact_rows"),
    ("control characters (middleware)", "omniguichet.core.middleware", "refused_fields"),
    ("per-row checks", "omniguichet.crm.services.ingest", "_check_rows"),
    ("person look-up", "omniguichet.crm.services.ingest", "_find_persons"),
    ("external-id check (_known_external_ids)", "omniguichet.crm.services.ingest", "_known_external_ids"),
    ("id reservation", "omniguichet.crm.services.ingest", "_reserve_contact_ids"),
    ("COPY (with the key trigger)", "omniguichet.crm.services.ingest", "_copy_contacts"),
    ("write transaction (reservation + COPY + commit)", "omniguichet.crm.services.ingest", "_write"),
    ("response body (render)", "omniguichet.crm.api", "shaped_response"),
]


def _wrap_layers(spent: dict[str, float]) -> Callable[[], None]:
    """Wrap each layer's function to add its wall time to `spent`; returns the undo."""
    import importlib

    undo = []
    for label, module_name, attribute in LAYERS:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name, None)
        if original is None:  # a layer this version of the service does not have
            continue

        def timed(*args: Any, _original: Callable = original, _label: str = label, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - started

        functools.update_wrapper(timed, original)
        setattr(owner, name, timed)
        undo.append((owner, name, original))

    def restore() -> None:
        for owner, name, original in undo:
            setattr(owner, name, original)

    return restore


def _floor_rows(rng: random.Random, count: int, run: str) -> list[tuple]:
    """The rows a batch writes (ingest's columns), already adapted, as the service hands them to COPY."""
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from omniguichet.core.actors import ActorKind
    from omniguichet.referential.models import Person

    # Persons drawn from the whole table, as the endpoint's batches draw them: on a large table each row's foreign
    # key then locks a person on a page of its own, which is what the endpoint pays (the first 50,000 persons
    # only, as this floor once took, stay in a few hot pages and made the floor look 3 times cheaper).
    max_id = Person.objects.aggregate(m=Max("id"))["m"]
    drawn = [rng.randint(1, max_id) for _ in range(count)]
    caisses = dict(Person.objects.filter(pk__in=set(drawn)).values_list("pk", "caisse_id"))
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    rows = []
    for i, person in enumerate(drawn):
        started = now - dt.timedelta(seconds=rng.randint(600, 86_400))
        rows.append((
            person, caisses[person], "phone", "inbound", "remboursement", adapt(started), ActorKind.SYSTEM, None,
            "resolved", "", rng.random() < 0.85, None, None, None, "floor", f"floor-{run}-{i}", adapt(now), "", "",
        ))  # fmt: skip
    return rows


@dataclass
class _Timing:
    seconds: float = 0.0
    web_cpu: float = 0.0
    server_cpu: float = 0.0
    rows: int = 0
    parts: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, other: _Timing) -> None:
        self.seconds += other.seconds
        self.web_cpu += other.web_cpu
        self.server_cpu += other.server_cpu
        self.rows += other.rows
        for name, seconds in other.parts.items():
            self.parts[name] += seconds

    def rate(self) -> float:
        return self.rows / self.seconds

    def per_row(self, seconds: float) -> float:
        return 1e6 * seconds / self.rows

    def cpu(self) -> str:
        return (
            f"per contact: web {self.per_row(self.web_cpu):.1f} µs CPU, PostgreSQL {self.per_row(self.server_cpu):.1f}"
            f" µs CPU, wall {self.per_row(self.seconds):.1f} µs"
        )


def _key_trigger() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'crm_contact'::regclass"
            " AND tgname IN ('crm_contact_key_inserted', 'crm_contact_keys_inserted')"
        )
        return str(cursor.fetchone()[0])


def _floor(rows: list[tuple], *, trigger: bool = True, commit: bool = True) -> _Timing:
    """A raw COPY of `rows` into the contact table in one transaction, then its commit (or rollback)."""
    from django.db import connection

    from omniguichet.core.db import bulk_insert_rows, reserve_ids
    from omniguichet.crm.models import Contact
    from omniguichet.crm.services.common import INGEST_COLUMNS

    backend = _backend_pid()
    cpu0, server0, started = time.process_time(), _cpu_seconds(backend), time.perf_counter()
    timing = _Timing(rows=len(rows))
    connection.set_autocommit(False)
    try:
        if not trigger:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE crm_contact DISABLE TRIGGER {_key_trigger()}")
        ids = reserve_ids(Contact, len(rows)) or []
        copy_started = time.perf_counter()
        bulk_insert_rows(Contact, ["id", *INGEST_COLUMNS], ((i, *r) for i, r in zip(ids, rows, strict=True)))
        end_started = time.perf_counter()
        timing.parts["COPY"] = end_started - copy_started
        if commit:
            connection.commit()
        else:
            connection.rollback()
        timing.parts["commit"] = time.perf_counter() - end_started
    finally:
        connection.set_autocommit(True)
    timing.seconds = time.perf_counter() - started
    timing.web_cpu = time.process_time() - cpu0
    timing.server_cpu = _cpu_seconds(backend) - server0
    return timing


def _post_batches(client: _Post, bodies: list[bytes]) -> _Timing:
    """Post the batches one after the other on this process's connection; the CPU of both sides."""
    from django.db import connection

    connection.ensure_connection()
    backend = _backend_pid()
    timing = _Timing()
    cpu0, server0 = time.process_time(), _cpu_seconds(backend)
    for body in bodies:
        started = time.perf_counter()
        status, content = client.post("/api/v1/contacts", body)
        timing.seconds += time.perf_counter() - started
        assert status.startswith("200"), (status, content[:300])
        timing.rows += json.loads(content)["created"]
    timing.web_cpu = time.process_time() - cpu0
    timing.server_cpu = _cpu_seconds(backend) - server0
    return timing


def _sustained(args: argparse.Namespace, secret: str, rng: random.Random, run: str) -> None:
    """The senders post --sustained-batches batches from a checkpoint on: the rate in windows of --window seconds
    shows the first minutes, when every page's first change writes its full image to the WAL, then the rate as
    the pages already written once come back."""
    from django.db import connection

    bodies = [b.encode() for b in _ingestion_batches(rng, f"{run}-s", args.sustained_batches)]
    _checkpoint()
    wal_before = _wal_position()
    connection.close()
    context = multiprocessing.get_context("fork")
    barrier = context.Manager().Barrier(args.senders)
    started = time.time()
    with ProcessPoolExecutor(args.senders, mp_context=context) as pool:
        jobs = [(secret, bodies[i :: args.senders], barrier) for i in range(args.senders)]
        done = [stamp for stamps in pool.map(_stamped_sender, jobs) for stamp in stamps]
    wal = _wal_position() - wal_before
    done.sort()
    total = sum(rows for _at, rows in done)
    seconds = done[-1][0] - started
    print(
        f"\n  sustained: {args.senders} senders, {len(bodies)} batches ({total:,} contacts) from a CHECKPOINT, "
        f"{seconds:.0f} s ({_load()})"
    )
    print(
        f"    {total / seconds:9,.0f} contacts/s over the whole run; WAL {wal / total:,.0f} bytes a contact"
    )
    windows: dict[int, int] = defaultdict(int)
    for at, rows in done:
        windows[int((at - started) // args.window)] += rows
    last = max(windows)
    if last and seconds - last * args.window < args.window / 2:  # a sliver at the end joins the window before
        windows[last - 1] += windows.pop(last)
        last -= 1

    def width(index: int) -> float:  # the last window ends with the run
        return seconds - index * args.window if index == last else args.window

    line = ", ".join(
        f"{index * args.window:.0f}-{index * args.window + width(index):.0f} s: "
        f"{windows.get(index, 0) / width(index):,.0f}"
        for index in range(last + 1)
    )
    print(f"    contacts/s by window of {args.window:.0f} s: {line}")


def _stamped_sender(job: tuple[str, list[bytes], Any]) -> list[tuple[float, int]]:
    """A sender that notes when each batch was done and how many contacts it created."""
    from django.db import connection

    secret, bodies, barrier = job
    try:
        client = _Post(secret)
        connection.ensure_connection()
        barrier.wait()
        stamps = []
        for body in bodies:
            status, content = client.post("/api/v1/contacts", body)
            assert status.startswith("200"), (status, content[:300])
            stamps.append((time.time(), json.loads(content)["created"]))
        return stamps
    finally:
        connection.close()


def _sender(job: tuple[str, list[bytes], Any]) -> _Timing:
    """One of the parallel senders, in its own process (forked): waits for the others, then posts its batches."""
    from django.db import connection

    secret, bodies, barrier = job
    try:
        client = _Post(secret)
        connection.ensure_connection()
        barrier.wait()
        return _post_batches(client, bodies)
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=_positive, default=150_000)
    parser.add_argument("--contacts", type=_positive, default=1_500_000, help="contact history seeded first")
    parser.add_argument("--batches", type=_positive, default=6, help="batches of 10,000 posted by one sender")
    parser.add_argument(
        "--senders", type=_positive, default=2, help="parallel senders (processes) afterwards"
    )
    parser.add_argument(
        "--sustained-batches",
        type=int,
        default=0,
        help="then, from a CHECKPOINT, this many more batches by the parallel senders, timed by window (0: skip)",
    )
    parser.add_argument("--window", type=float, default=10.0, help="--sustained-batches: window in seconds")
    parser.add_argument(
        "--database",
        default="",
        help="an existing database of the cluster, seeded by a previous run (no seed)",
    )
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        parser.error("DATABASE_URL must point to a PostgreSQL cluster (see `make bench-ingest`)")
    if args.database and not args.database.replace("_", "").isalnum():
        parser.error(f"--database {args.database!r}: a database name (letters, digits, underscores)")
    os.environ.setdefault("OMNIGUICHET_PSEUDONYM_KEY", "bench-ingest")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as var_dir:
        if args.database:
            import psycopg

            url = base_url.rsplit("/", 1)[0] + "/" + args.database
            try:
                psycopg.connect(url).close()
            except psycopg.OperationalError as exc:
                parser.error(
                    f"--database {args.database!r}: cannot connect ({str(exc).strip().splitlines()[-1]})"
                )
            _setup(url, var_dir)
        else:
            _setup(_database_url(base_url, var_dir, "ingest"), var_dir)
        _bench(args)


def _bench(args: argparse.Namespace) -> None:
    from django.db import connection

    from bench.national import _prepare_partitions, _sql
    from omniguichet.core.services import issue_token
    from omniguichet.demo.services import ensure_demo_users, seed_contacts, seed_population
    from omniguichet.referential.models import User

    version = _sql("SHOW server_version")[0][0].split()[0]
    knobs = dict(
        _sql(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN"
            " ('shared_buffers', 'wal_compression', 'checkpoint_timeout', 'max_wal_size')"
        )
    )
    print(
        f"contact ingestion bench on PostgreSQL {version}, {os.cpu_count()} cores, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {_load()}; "
        + ", ".join(f"{name} {value}" for name, value in sorted(knobs.items())),
        flush=True,
    )
    ensure_demo_users()
    _token, secret = issue_token(user=User.objects.get(username="supervisor"), label="bench")
    if not args.database:
        started = time.perf_counter()
        seed_population(persons=args.persons, seed=42)
        print(f"  {args.persons:,} persons in {time.perf_counter() - started:.0f} s", flush=True)
        layout = _prepare_partitions(dt.date.today() - dt.timedelta(days=HISTORY_DAYS))
        print(f"  contact table: {layout}", flush=True)
        started = time.perf_counter()
        seed_contacts(count=args.contacts, seed=42, days=HISTORY_DAYS)
        print(f"  {args.contacts:,} contacts seeded in {time.perf_counter() - started:.0f} s", flush=True)
        _sql("VACUUM ANALYZE")
    persons, contacts = _sql(
        "SELECT (SELECT count(*) FROM referential_person), (SELECT count(*) FROM crm_contact)"
    )[0]
    print(
        f"  database {connection.settings_dict['NAME']}: {persons:,} persons, {contacts:,} contacts",
        flush=True,
    )
    rng = random.Random(2026)
    run = uuid.uuid4().hex[:8]
    parallel = args.senders * 3
    bodies = [b.encode() for b in _ingestion_batches(rng, run, 1 + args.batches + parallel + 1)]
    warm, one, many, replay = (
        bodies[0],
        bodies[1 : 1 + args.batches],
        bodies[1 + args.batches : -1],
        bodies[1],
    )
    client = _Post(secret)
    _post_batches(client, [warm])  # imports, caches, connection

    # The floor, in the same run: raw COPY of the same number of rows; then rolled back, with and without the
    # key trigger, alternately, on rows never committed.
    floor_rows = [_floor_rows(rng, BATCH, f"{run}-{b}") for b in range(args.batches + 2)]
    floor = _Timing()
    wal_before = _wal_position()
    for rows in floor_rows[: args.batches]:
        floor.add(_floor(rows))
    floor_wal = (_wal_position() - wal_before) / floor.rows
    with_trigger, without = _Timing(), _Timing()
    for rows in floor_rows[args.batches :] * 2:
        with_trigger.add(_floor(rows, commit=False))
        without.add(_floor(rows, trigger=False, commit=False))
    trigger = (with_trigger.parts["COPY"] - without.parts["COPY"]) / with_trigger.rows
    print(f"\n  floor: raw COPY of {BATCH:,} rows + commit, {args.batches} batches ({_load()})")
    print(f"    {floor.rate():9,.0f} contacts/s; {floor.cpu()}; WAL {floor_wal:,.0f} bytes")
    print(
        f"    COPY {floor.per_row(floor.parts['COPY']):.1f} µs, commit (the deferred foreign-key checks) "
        f"{floor.per_row(floor.parts['commit']):.1f} µs per contact; the key trigger {1e6 * trigger:.1f} µs per "
        f"contact (COPY rolled back with it: {with_trigger.rows / with_trigger.parts['COPY']:,.0f}/s, without it: "
        f"{without.rows / without.parts['COPY']:,.0f}/s)"
    )

    # The endpoint, one sender, layer by layer.
    spent: dict[str, float] = defaultdict(float)
    restore = _wrap_layers(spent)
    wal_before = _wal_position()
    try:
        endpoint = _post_batches(client, one)
    finally:
        restore()
    endpoint_wal = (_wal_position() - wal_before) / endpoint.rows
    assert endpoint.rows == BATCH * args.batches, endpoint.rows
    print(f"\n  POST /api/v1/contacts, {args.batches} batches of {BATCH:,}, one sender ({_load()})")
    print(
        f"    {endpoint.rate():9,.0f} contacts/s = {endpoint.rate() / floor.rate():.2f} x the floor; {endpoint.cpu()}"
        f"; WAL {endpoint_wal:,.0f} bytes"
    )
    inner = ("id reservation", "COPY (with the key trigger)")
    measured = 0.0
    for label, _module, _attribute in LAYERS:
        if label not in spent:  # a version of the service without this layer as a function: in "the rest"
            continue
        seconds = spent[label]
        if label.startswith("write transaction"):
            seconds -= sum(spent.get(name, 0.0) for name in inner)
            label = "commit (the deferred foreign-key checks)"
        measured += seconds
        print(
            f"    {label:<52} {endpoint.per_row(seconds):7.1f} µs {100 * seconds / endpoint.seconds:5.1f} %"
        )
    rest = endpoint.seconds - measured
    label = "the rest (WSGI, auth, ninja, the service's loop)"
    print(f"    {label:<52} {endpoint.per_row(rest):7.1f} µs {100 * rest / endpoint.seconds:5.1f} %")

    # Parallel senders, each in its own process with its own connection.
    connection.close()
    context = multiprocessing.get_context("fork")
    barrier = context.Manager().Barrier(args.senders)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.senders, mp_context=context) as pool:
        jobs = [(secret, many[i :: args.senders], barrier) for i in range(args.senders)]
        timings = list(pool.map(_sender, jobs))
    seconds = time.perf_counter() - started
    senders = _Timing()
    for timing in timings:
        senders.add(timing)
    print(f"\n  {args.senders} senders in parallel, {len(many)} batches ({_load()})")
    print(
        f"    {senders.rows / seconds:9,.0f} contacts/s = {senders.rows / seconds / floor.rate():.2f} x the floor "
        f"(one sender's raw COPY); per contact: web {senders.per_row(senders.web_cpu):.1f} µs CPU, PostgreSQL "
        f"{senders.per_row(senders.server_cpu):.1f} µs CPU"
    )

    # A replay: every row a duplicate, nothing written.
    again = _post_batches(client, [replay])
    assert again.rows == 0
    print(f"\n  replay of a batch (all duplicates): {BATCH / again.seconds:,.0f} rows/s")
    if args.sustained_batches:
        _sustained(args, secret, rng, run)
    web, server = senders.per_row(senders.web_cpu), senders.per_row(senders.server_cpu)
    cores = INGEST_PER_S * (web + server) / 1e6
    print(
        f"\n  {INGEST_PER_S:,}/s needs {INGEST_PER_S * web / 1e6:.2f} web cores + {INGEST_PER_S * server / 1e6:.2f}"
        f" PostgreSQL cores = {cores:.2f} cores at the parallel senders' CPU per contact (this machine: "
        f"{os.cpu_count()}, shared); {_load()}"
    )


if __name__ == "__main__":
    sys.exit(main())
