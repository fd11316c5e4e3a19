"""Benchmark of the baskets, the shared work queue (issue 17): the basket listing with 5,000,000 open work items
in 101 caisses, an item's page, and the baskets of a caisse with their open and overdue counts (the API and the
console's `/agent/baskets/`); target p99 <= 50 ms for each. Also what the counters cost a writer: `open_item` and
`close_items` with the counting triggers and the overdue index, against the same calls without them (the schema
before baskets 0003), in the same run.

Measured in-process through the Django test client (middleware, authentication, django-ninja or the template,
services, ORM, JSON or HTML), by the manager of the basket's caisse (`agent-<code>`):
- `GET /api/v1/baskets/{id}/items` with a bearer token: first pages and pages further down, through the cursor;
- `/agent/baskets/<id>/`, the console's page, in a session verified by a second factor (force_login, then the
  agent's TOTP device recorded in the session, as after the real two login steps);
- `GET /api/v1/baskets/items/{id}`: one item, open or closed.
Baseline: the SQL each request ran, captured once, re-executed with a raw cursor on the same connection; the ratio
shows what the application adds on top of the database (for the counts: the raw SQL of the new read, the counters'
sums and the overdue ranges in one statement).

The items are loaded in bulk (COPY on PostgreSQL, executemany on SQLite, the listing's index built once at the
end): documents, secure messages and e-mails, in every basket of every caisse (bigger caisses get more), received
over the last six weeks, deadlines from two days to ten days later (some overdue), a third of them claimed; plus
closed ones (10 % on top by default), which stay in the table but not in the listing's partial index. Their
subjects (documents, conversations) are not created: neither the listing nor the item's page reads them. The
counting triggers run during the load (PostgreSQL: one delta row per basket and kind per COPY; SQLite: one per
item), then the counters are compacted once (timed), as the ledger's sweep would.

    python -m bench.baskets                                    # SQLite, 5,000,000 open items
    python -m bench.baskets --items 500000 --persons 20000
    python -m bench.baskets --keep /var/tmp/bb        # keep the SQLite database; later, measure it again with
    python -m bench.baskets --reuse /var/tmp/bb       # (no seed, no load)
    DATABASE_URL=postgres://... python -m bench.baskets       # PostgreSQL: a fresh database in that cluster
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from collections.abc import Callable
from urllib.parse import quote

from bench.crm import _database_url, _ms, _run_raw, _verdict
from bench.seed import _setup

P99_MS = 50.0  # issue 17 targets: the listing and an item's page
LIST_SAMPLES = 500
PAGE_SAMPLES = 300
ITEM_SAMPLES = 500
DEEP_SAMPLES = 300
SUMMARY_SAMPLES = 300
WRITE_ROUNDS = 4
WRITES = 250
CLAIMED_SHARE = 0.3
CHUNK = 50_000
WEEKS = 6
DOCUMENT_TYPES = [
    "bank_details",
    "sick_leave_form",
    "salary_certificate",
    "proof_of_income",
    "identity_document",
]
SUBJECTS = [
    "Remboursement d'une consultation", "Carte Vitale perdue", "Attestation de droits", "Indemnités journalières",
    "Changement d'adresse", "Complémentaire santé solidaire", "Question sur un décompte", "Arrêt de travail",
]  # fmt: skip


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 10")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--items", type=_positive, default=5_000_000, help="open work items (default 5,000,000)"
    )
    parser.add_argument("--persons", type=_positive, default=100_000, help="persons seeded (default 100,000)")
    parser.add_argument(
        "--closed", type=_share, default=0.1, help="closed items, as a share of the open ones (default 0.1)"
    )
    parser.add_argument(
        "--keep", metavar="DIR",
        help="keep the SQLite database in this new directory, to study its plans afterwards (default: deleted)",
    )  # fmt: skip
    parser.add_argument(
        "--reuse", metavar="DIR", help="measure again on the database kept by --keep DIR (no seed, no load)"
    )
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    if args.reuse:
        if engine != "SQLite" or args.keep:
            parser.error("--reuse is for SQLite, without --keep")
        if not os.path.isfile(os.path.join(args.reuse, "baskets.sqlite3")):
            parser.error(f"--reuse: no {args.reuse}/baskets.sqlite3 (make one with --keep)")
        _setup(_database_url(base_url, args.reuse, name="baskets"), args.reuse)
        _bench(engine, 0, 0, 0, load=False)
        return
    if args.keep:
        if engine != "SQLite":
            parser.error("--keep is for SQLite (a PostgreSQL bench database stays in its cluster)")
        try:
            os.makedirs(args.keep)
        except OSError as exc:
            parser.error(f"--keep: cannot create {args.keep}: {exc.strerror}")
        _setup(_database_url(base_url, args.keep, name="baskets"), args.keep)
        _bench(engine, args.items, int(args.items * args.closed), args.persons)
        print(f"  database kept in {args.keep}/baskets.sqlite3", flush=True)
        return
    with tempfile.TemporaryDirectory() as var_dir:
        _setup(_database_url(base_url, var_dir, name="baskets"), var_dir)
        _bench(engine, args.items, int(args.items * args.closed), args.persons)


def _load_items(
    open_count: int, closed_count: int, persons_by_caisse: dict[str, list[int]], agents: dict[str, int]
) -> float:
    """Work items in bulk: every caisse (weighted by its population), every basket, the three kinds."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from omniguichet.baskets.models import Basket, WorkItem
    from omniguichet.core.db import bulk_insert_rows, fast_bulk_load, secondary_indexes_deferred

    rng = random.Random(2026)
    baskets: dict[str, dict[str, int]] = {}
    for pk, caisse, kind in Basket.objects.values_list("pk", "caisse_id", "kind"):
        baskets.setdefault(caisse, {})[kind] = pk
    processing = ["ij", "remboursements", "droits", "c2s", "general"]
    caisses = sorted(persons_by_caisse)
    weights = [len(persons_by_caisse[c]) for c in caisses]
    adapt = connection.ops.adapt_datetimefield_value
    now = dt.datetime.now(dt.UTC)
    span = WEEKS * 7 * 86400
    columns = [
        "id", "kind", "subject_id", "person_id", "caisse_id", "basket_id", "summary", "received_at", "deadline",
        "status", "is_open", "claimed_by_id", "claimed_at", "decided_by_id", "decided_at", "outcome",
        "transfer_count", "routed_by", "routing_confidence",
    ]  # fmt: skip
    total = open_count + closed_count
    started = time.perf_counter()
    with fast_bulk_load(), transaction.atomic(), secondary_indexes_deferred([WorkItem]):
        for first in range(1, total + 1, CHUNK):
            last = min(first + CHUNK, total + 1)
            picked = rng.choices(caisses, weights, k=last - first)
            rows = []
            for pk, caisse in zip(range(first, last), picked, strict=True):
                draw = rng.random()
                kind = "document" if draw < 0.5 else "message" if draw < 0.8 else "email"
                person: int | None = rng.choice(persons_by_caisse[caisse])
                if kind == "document":
                    processing_kind, summary, delay, routed = (
                        rng.choice(processing),
                        rng.choice(DOCUMENT_TYPES),
                        10,
                        "rule:1",
                    )
                else:
                    processing_kind, summary, delay, routed = (
                        rng.choice(processing),
                        rng.choice(SUBJECTS),
                        2,
                        "model",
                    )
                    if kind == "email" and draw > 0.97:
                        processing_kind, person, routed = "to_identify", None, "unknown_sender"
                    elif draw > 0.78 and kind == "message":
                        processing_kind, routed = "triage", "triage"
                received = now - dt.timedelta(seconds=rng.randrange(span))
                deadline = received + dt.timedelta(days=delay)
                closed = pk > open_count
                claimed = not closed and rng.random() < CLAIMED_SHARE
                agent = agents[caisse] if claimed or closed else None
                rows.append([
                    pk, kind, pk, person, caisse, baskets[caisse][processing_kind], summary, adapt(received),
                    adapt(deadline), "closed" if closed else "claimed" if claimed else "open", not closed, agent,
                    adapt(received + dt.timedelta(hours=2)) if agent else None, agent if closed else None,
                    adapt(received + dt.timedelta(days=1)) if closed else None, "accepted" if closed else "",
                    0, routed, 0.93 if routed == "model" else 0.41 if routed == "triage" else None,
                ])  # fmt: skip
            bulk_insert_rows(WorkItem, columns, rows)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [WorkItem]):
                cursor.execute(sql)
    seconds = time.perf_counter() - started
    from omniguichet.baskets.models import OpenItemCount
    from omniguichet.baskets.services import compact_counts

    deltas = OpenItemCount.objects.count()
    compact_seconds = _timed(compact_counts)
    print(
        f"  counters: {deltas:,} delta rows written by the triggers during the load, compacted to "
        f"{OpenItemCount.objects.count():,} in {compact_seconds:.1f} s",
        flush=True,
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The visibility map too (an index-only scan reads the table for pages not marked all-visible);
            # autovacuum does it in time on a live database.
            cursor.execute("VACUUM ANALYZE baskets_workitem")
            cursor.execute("VACUUM ANALYZE baskets_openitemcount")
        else:
            cursor.execute("ANALYZE")
    return seconds


def _bench(engine: str, open_count: int, closed_count: int, persons: int, load: bool = True) -> None:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from omniguichet.baskets import services
    from omniguichet.baskets.models import Basket, WorkItem
    from omniguichet.baskets.services.items import _encode_cursor
    from omniguichet.core.services import issue_token
    from omniguichet.demo.services import ensure_demo_users, seed_population
    from omniguichet.referential.models import Person, User

    if engine == "PostgreSQL":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            engine = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    if not load:  # --reuse: the database loaded by an earlier run
        open_count = WorkItem.objects.filter(is_open=True).count()
        closed_count = WorkItem.objects.filter(is_open=False).count()
        persons = Person.objects.count()
    print(
        f"baskets bench on {engine}, {open_count:,} open work items (+ {closed_count:,} closed), {persons:,} "
        f"persons, {os.cpu_count()} cores, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if load:
        ensure_demo_users()
        seed_seconds = _timed(lambda: seed_population(persons=persons, seed=42))
        print(f"  seed population: {seed_seconds:6.1f} s", flush=True)
        services.seed_baskets()
    persons_by_caisse: dict[str, list[int]] = {}
    for pk, caisse in Person.objects.values_list("pk", "caisse_id").iterator():
        persons_by_caisse.setdefault(caisse, []).append(pk)
    if load:
        agents = dict(User.objects.filter(username__startswith="agent-").values_list("caisse_id", "pk"))
        seconds = _load_items(open_count, closed_count, persons_by_caisse, agents)
        total = open_count + closed_count
        basket_count = Basket.objects.count()
        print(
            f"  load work items: {seconds:6.1f} s ({total / seconds:,.0f} items/s, {len(persons_by_caisse)} "
            f"caisses, {basket_count} baskets, {open_count / basket_count:,.0f} open items a basket on average)",
            flush=True,
        )
    connection.close()

    rng = random.Random(7)
    api_clients: dict[str, Client] = {}
    web_clients: dict[str, Client] = {}

    def api_client(caisse: str) -> Client:
        if caisse not in api_clients:
            _token, secret = issue_token(user=User.objects.get(username=f"agent-{caisse}"), label="bench")
            api_clients[caisse] = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
        return api_clients[caisse]

    def web_client(caisse: str) -> Client:
        if caisse not in web_clients:
            user = User.objects.get(username=f"agent-{caisse}")
            device = TOTPDevice.objects.get(user=user, confirmed=True)
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
            web_clients[caisse] = client
        return web_clients[caisse]

    baskets = list(Basket.objects.values_list("pk", "caisse_id"))

    def listing_cases(path: Callable[[int], str], count: int) -> list[tuple[str, str]]:
        """First pages and pages further down (2 to 11), walked through the API's cursor."""
        cases: list[tuple[str, str]] = []
        while len(cases) < count:
            basket_id, caisse = rng.choice(baskets)
            cases.append((caisse, path(basket_id)))
            depth = rng.choice([0, 0, 1, 3, 10])
            url = f"/api/v1/baskets/{basket_id}/items"
            cursor = None
            for _ in range(depth):
                body = api_client(caisse).get(url).json()
                cursor = body["next_cursor"]
                if not cursor:
                    break
                url = f"/api/v1/baskets/{basket_id}/items?cursor={cursor}"
            if cursor:
                cases.append((caisse, f"{path(basket_id)}?cursor={cursor}"))
        return cases[:count]

    def measure(
        label: str,
        client_for: Callable[[str], Client],
        cases: list[tuple[str, str]],
        rows_of: Callable,
        target: bool = True,
    ) -> None:
        for caisse, url in cases[:20]:
            client_for(caisse).get(url)
        endpoint, cpu, raw, rows, queries = [], [], [], [], []
        sqls: list[str] = []
        plan_sqls: list[str] = []
        for caisse, url in cases:
            client = client_for(caisse)
            # Once, untimed: a token's first use in a minute writes its last_used_at; the SQL captured next and the
            # request timed after it are the steady state, with reads only.
            client.get(url)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            sqls = [q["sql"] for q in captured.captured_queries]
            if "cursor=" in url or not plan_sqls:
                plan_sqls = sqls  # the plans shown: of a request with a cursor, when there are some
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            endpoint.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            started = time.perf_counter()
            _run_raw(sqls)
            raw.append(time.perf_counter() - started)
            rows.append(rows_of(response))
            queries.append(len(sqls))
        p50, p95, p99 = _ms(endpoint)
        r50, _r95, r99 = _ms(raw)
        c50, _c95, c99 = _ms(cpu)
        print(
            f"  {label} ({len(cases)} requests, {sum(rows) / len(rows):.1f} items a response on average, "
            f"{min(queries)}-{max(queries)} queries):\n"
            f"    p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms"
            + (f" — target p99 <= {P99_MS:.0f} ms: {_verdict(p99 <= P99_MS)}" if target else "")
            + "\n"
            f"    raw SQL p50 {r50:.2f} ms, p99 {r99:.2f} ms — ratio p50 {p50 / r50:.2f}x, p99 {p99 / r99:.2f}x\n"
            f"    CPU time of this process p50 {c50:.2f} ms, p99 {c99:.2f} ms",
            flush=True,
        )
        _print_plans(plan_sqls)

    # --- the listing, through the API ---
    api_cases = listing_cases(lambda b: f"/api/v1/baskets/{b}/items", LIST_SAMPLES)
    measure(
        "basket listing GET /api/v1/baskets/{id}/items", api_client, api_cases,
        lambda r: len(r.json()["items"]),
    )  # fmt: skip

    # --- pages anywhere in a basket: the cursor at an open item drawn at random among all of them, so most in
    # the biggest baskets (the cursor is written in the service's own format) ---
    sizes = dict(
        WorkItem.objects.filter(is_open=True).values_list("basket_id").annotate(n=Count("id")).order_by()
    )
    caisse_of_basket = dict(baskets)
    deep_cases = []
    for basket_id in rng.choices(list(sizes), list(sizes.values()), k=DEEP_SAMPLES):
        item = (
            WorkItem.objects.filter(basket_id=basket_id, is_open=True)
            .order_by("deadline", "id")
            .only("pk", "deadline")[rng.randrange(sizes[basket_id])]
        )
        cursor = quote(_encode_cursor(item))
        deep_cases.append((caisse_of_basket[basket_id], f"/api/v1/baskets/{basket_id}/items?cursor={cursor}"))
    print(
        f"    (open items a basket: smallest {min(sizes.values()):,}, median "
        f"{sorted(sizes.values())[len(sizes) // 2]:,}, biggest {max(sizes.values()):,})",
        flush=True,
    )
    measure(
        "basket listing, a page anywhere in the basket (cursor at a random open item)", api_client, deep_cases,
        lambda r: len(r.json()["items"]),
    )  # fmt: skip

    # --- the console's page ---
    page_cases = listing_cases(lambda b: f"/agent/baskets/{b}/", PAGE_SAMPLES)
    measure(
        "console page /agent/baskets/<id>/", web_client, page_cases,
        lambda r: r.content.count(b"<tr data-item="),
    )  # fmt: skip

    # --- one item ---
    top = WorkItem.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    picks = [rng.randrange(1, top + 1) for _ in range(ITEM_SAMPLES)]
    caisse_of = dict(WorkItem.objects.filter(pk__in=picks).values_list("pk", "caisse_id"))
    item_cases = [(caisse_of[pk], f"/api/v1/baskets/items/{pk}") for pk in picks]
    measure("an item GET /api/v1/baskets/items/{id}", api_client, item_cases, lambda r: 1)

    # --- the baskets of a caisse with their open and overdue counts (counters + overdue ranges) ---
    caisses = sorted(persons_by_caisse)
    summary_cases = [(c, "/api/v1/baskets") for c in rng.choices(caisses, k=SUMMARY_SAMPLES)]
    measure(
        "baskets of a caisse with counts GET /api/v1/baskets",
        api_client,
        summary_cases,
        lambda r: len(r.json()),
    )
    console_cases = [(c, "/agent/baskets/") for c in rng.choices(caisses, k=SUMMARY_SAMPLES)]
    measure(
        "console's baskets with counts /agent/baskets/", web_client, console_cases,
        lambda r: r.content.count(b"<td data-count>"),
    )  # fmt: skip

    # --- what the counters cost a writer ---
    _writer_cost(baskets)


def _writer_cost(baskets: list[tuple[int, str]]) -> None:
    """`open_item` (a deposit's or a message's write of its item) then `close_items`, WRITES of each per round,
    each in its own savepoint (no commit: the SQL's cost, not the disk's), rounds alternating with the counting
    triggers and the overdue index dropped (the schema before baskets 0003) and with them; every round rolled
    back. All into one basket: the hot-basket case (the counters are insert-only rows, so no lock is shared)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from omniguichet.baskets import services
    from omniguichet.baskets.models import Basket
    from omniguichet.baskets.services.counts import TRIGGERS

    on_table = " ON baskets_workitem" if connection.vendor == "postgresql" else ""
    drops = [f"DROP TRIGGER {name}{on_table}" for name in TRIGGERS] + [
        "DROP INDEX workitem_basket_kind_due_idx"
    ]
    basket_id, caisse = baskets[0]
    basket = Basket.objects.get(pk=basket_id)
    now = timezone.now()
    opened: dict[str, list[float]] = {"without": [], "with": []}
    closed: dict[str, list[float]] = {"without": [], "with": []}
    with transaction.atomic():
        for round_ in range(WRITE_ROUNDS):
            for mode in ("without", "with"):
                savepoint = transaction.savepoint()
                if mode == "without":
                    with connection.cursor() as cursor:
                        for sql in drops:
                            cursor.execute(sql)
                first = 10**12 + round_ * 10 * WRITES
                for subject in range(first, first + WRITES):
                    started = time.perf_counter()
                    with transaction.atomic():
                        services.open_item(
                            kind="message", subject_id=subject, caisse_id=caisse, basket=basket, summary="bench",
                            received_at=now, deadline=now + dt.timedelta(days=2),
                        )  # fmt: skip
                    opened[mode].append(time.perf_counter() - started)
                for subject in range(first, first + WRITES):
                    started = time.perf_counter()
                    with transaction.atomic():
                        services.close_items(kind="message", subject_ids=[subject], outcome="answered")
                    closed[mode].append(time.perf_counter() - started)
                transaction.savepoint_rollback(savepoint)
    for label, samples in (("open_item", opened), ("close_items", closed)):
        (b50, _b95, b99), (w50, _w95, w99) = _ms(samples["without"]), _ms(samples["with"])
        print(
            f"  writer {label} ({WRITE_ROUNDS} x {WRITES} each way, one basket, load average "
            f"{os.getloadavg()[0]:.1f}): without the counters p50 {b50:.3f} ms, p99 {b99:.3f} ms; with them p50 "
            f"{w50:.3f} ms, p99 {w99:.3f} ms — ratio p50 {w50 / b50:.2f}x, p99 {w99 / b99:.2f}x",
            flush=True,
        )


def _print_plans(sqls: list[str]) -> None:
    """The plan of the statements that read work items (the last request's)."""
    from django.db import connection

    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        for sql in sqls:
            if "baskets_workitem" not in sql and "baskets_openitemcount" not in sql:
                continue
            cursor.execute(explain + sql)
            plan = " | ".join(str(r[-1]) for r in cursor.fetchall())
            print(f"    plan: {plan}", flush=True)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
