"""Benchmark of documents (issue #6): the basket listing with 1,000,000 documents in 101 caisses, and the deposit
of a 1 MB PDF including every check and the encryption.

Listing: `GET /api/v1/documents/baskets/{id}/documents` (first pages and pages further down, through the
cursor) by agents of the basket's caisse, in-process through the Django test client (middleware, bearer token,
django-ninja, services, ORM, JSON). Baseline: the SQL each request ran, captured once, re-executed with a raw
cursor on the same connection; the ratio shows what the application adds on top of the database.

Deposit: `POST /api/v1/documents/deposits` (multipart) of a 1 MB scanned-page PDF by the person. Baseline: the
floor of keeping a file at all: its SHA-256 and a plain write through the same storage.

    python -m bench.documents                                  # SQLite, 1,000,000 documents
    python -m bench.documents --documents 200000
    DATABASE_URL=postgres://... python -m bench.documents     # PostgreSQL: a fresh database in that cluster
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import os
import random
import tempfile
import time

from bench.crm import _database_url, _ms, _run_raw, _verdict
from bench.seed import _setup

LIST_P99_MS = 50.0  # issue #6 targets
DEPOSIT_P50_MS = 100.0
CAISSES = 101
LIST_SAMPLES = 500
DEPOSITS = 60
OPEN_SHARE = 0.15  # documents still to process; the rest were accepted or rejected
PROCESSING = ["ij", "remboursements", "droits", "c2s", "general"]  # the baskets documents are routed to
CHUNK = 50_000


def _pdf_of_one_mb() -> bytes:
    """A scanned page: one JPEG of noise (about 1 MB) in a PDF, as Pillow writes it."""
    from PIL import Image

    rng = random.Random(6)
    side = 920
    noise = bytes(rng.getrandbits(8) for _ in range(side * side * 3))
    image = Image.frombytes("RGB", (side, side), noise)
    out = io.BytesIO()
    image.save(out, "PDF", resolution=150, quality=95)
    return out.getvalue()


def _load_documents(count: int, persons_by_caisse: dict[str, list[int]]) -> float:
    """Deposits, documents and their work items in bulk (COPY on PostgreSQL): every caisse, every basket, ages up
    to a year; a document's place in the queue (basket, claimant, deadline) is its item's."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from omniguichet.baskets.models import Basket, WorkItem
    from omniguichet.core.db import bulk_insert_rows, fast_bulk_load
    from omniguichet.documents.models import Deposit, Document, DocumentType, PurposeKind
    from omniguichet.referential.models import User

    rng = random.Random(2026)
    baskets = {(b.caisse_id, b.kind): b.pk for b in Basket.objects.filter(kind__in=PROCESSING)}
    agents = dict(User.objects.filter(username__startswith="agent-").values_list("caisse_id", "pk"))
    kinds = sorted({k for _c, k in baskets})
    caisses = sorted(persons_by_caisse)
    # Bigger caisses get more documents, like their populations.
    weights = [len(persons_by_caisse[c]) for c in caisses]
    adapt = connection.ops.adapt_datetimefield_value
    now = dt.datetime.now(dt.UTC)
    types = DocumentType.values
    deposit_columns = ["id", "person_id", "caisse_id", "purpose_kind", "purpose_ref", "channel", "actor_kind",
                       "created_at"]  # fmt: skip
    document_columns = [
        "id", "deposit_id", "person_id", "caisse_id", "document_type", "purpose_kind", "purpose_ref", "file",
        "original_name", "content_type", "checksum", "size", "pages", "status", "received_at", "rejection_reason",
        "is_open",
    ]  # fmt: skip
    item_columns = [
        "id", "kind", "subject_id", "person_id", "caisse_id", "basket_id", "summary", "received_at", "deadline",
        "status", "is_open", "claimed_by_id", "claimed_at", "decided_by_id", "decided_at", "outcome",
        "transfer_count", "routed_by",
    ]  # fmt: skip
    started = time.perf_counter()
    with fast_bulk_load(), transaction.atomic():
        for first in range(1, count + 1, CHUNK):
            deposits, documents, items = [], [], []
            for pk in range(first, min(first + CHUNK, count + 1)):
                caisse = rng.choices(caisses, weights)[0]
                person = rng.choice(persons_by_caisse[caisse])
                received = now - dt.timedelta(seconds=rng.randrange(365 * 86400))
                status = (
                    "received"
                    if rng.random() < OPEN_SHARE
                    else rng.choice(["accepted", "accepted", "rejected"])
                )
                is_open = status == "received"
                agent = agents.get(caisse) if not is_open or rng.random() < 0.3 else None  # 30 % claimed
                when, decided = adapt(received), adapt(received + dt.timedelta(days=1))
                document_type = rng.choice(types)
                deposits.append([pk, person, caisse, PurposeKind.REQUEST, str(pk), "web", "insured", when])
                documents.append([
                    pk, pk, person, caisse, document_type, PurposeKind.REQUEST, str(pk), f"{caisse}/bench/{pk}.bin",
                    "scan.pdf", "application/pdf", "0" * 64, 250_000, 1, status, when,
                    "illisible" if status == "rejected" else "", is_open,
                ])  # fmt: skip
                items.append([
                    pk, "document", pk, person, caisse, baskets[(caisse, rng.choice(kinds))], document_type, when,
                    adapt(received + dt.timedelta(days=10)),
                    "open" if is_open and agent is None else "claimed" if is_open else "closed", is_open, agent,
                    when if agent else None, None if is_open else agent, None if is_open else decided,
                    "" if is_open else status, 0, "rule:1",
                ])  # fmt: skip
            bulk_insert_rows(Deposit, deposit_columns, deposits)
            bulk_insert_rows(Document, document_columns, documents)
            bulk_insert_rows(WorkItem, item_columns, items)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Deposit, Document, WorkItem]):
                cursor.execute(sql)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE documents_document")
            cursor.execute("ANALYZE documents_deposit")
            cursor.execute("ANALYZE baskets_workitem")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=100_000)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    with tempfile.TemporaryDirectory() as var_dir:
        _setup(_database_url(base_url, var_dir), var_dir)
        _bench(engine, args.documents, args.persons)


def _bench(engine: str, documents: int, persons: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from omniguichet.accounts.models import Account
    from omniguichet.baskets.models import Basket
    from omniguichet.core.services import issue_token
    from omniguichet.demo.services import ensure_demo_users, seed_population
    from omniguichet.documents import services
    from omniguichet.documents.models import DocumentRequest
    from omniguichet.referential.models import Person, User

    if engine == "PostgreSQL":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            engine = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    print(
        f"documents bench on {engine}, {documents:,} documents, {persons:,} persons, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}",
        flush=True,
    )
    ensure_demo_users()
    seed_seconds = _timed(lambda: seed_population(persons=persons, seed=42))
    print(f"  seed population: {seed_seconds:6.1f} s", flush=True)
    services.seed_baskets()
    persons_by_caisse: dict[str, list[int]] = {}
    for pk, caisse in Person.objects.values_list("pk", "caisse_id").iterator():
        persons_by_caisse.setdefault(caisse, []).append(pk)
    load = _load_documents(documents, persons_by_caisse)
    print(
        f"  load documents:  {load:6.1f} s ({documents / load:,.0f} documents/s, {len(persons_by_caisse)} caisses, "
        f"{Basket.objects.count()} baskets)",
        flush=True,
    )
    connection.close()

    # --- listing ---
    rng = random.Random(7)
    clients: dict[str, Client] = {}

    def client_for(caisse: str) -> Client:
        if caisse not in clients:
            _token, secret = issue_token(user=User.objects.get(username=f"agent-{caisse}"), label="bench")
            clients[caisse] = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
        return clients[caisse]

    baskets = list(Basket.objects.filter(kind__in=PROCESSING).values_list("pk", "caisse_id"))
    cases: list[tuple[str, str]] = []
    while len(cases) < LIST_SAMPLES:
        basket_id, caisse = rng.choice(baskets)
        url = f"/api/v1/documents/baskets/{basket_id}/documents"
        cases.append((caisse, url))
        depth = rng.choice([0, 0, 1, 3, 10])  # pages further down, through the cursor
        for _ in range(depth):
            body = client_for(caisse).get(url).json()
            if not body["next_cursor"]:
                break
            url = f"/api/v1/documents/baskets/{basket_id}/documents?cursor={body['next_cursor']}"
        if depth:
            cases.append((caisse, url))
    cases = cases[:LIST_SAMPLES]
    for caisse, url in cases[:20]:
        client_for(caisse).get(url)
    endpoint, raw, rows = [], [], []
    for caisse, url in cases:
        client = client_for(caisse)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        sqls = [q["sql"] for q in captured.captured_queries]
        started = time.perf_counter()
        response = client.get(url)
        endpoint.append(time.perf_counter() - started)
        started = time.perf_counter()
        _run_raw(sqls)
        raw.append(time.perf_counter() - started)
        rows.append(len(response.json()["documents"]))
    p50, p95, p99 = _ms(endpoint)
    r50, _r95, r99 = _ms(raw)
    print(
        f"  basket listing (GET /documents/baskets/{{id}}/documents, {len(cases)} requests, "
        f"{sum(rows) / len(rows):.0f} documents a page on average):\n"
        f"    p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms — target p99 <= {LIST_P99_MS:.0f} ms: "
        f"{_verdict(p99 <= LIST_P99_MS)}\n"
        f"    raw SQL p50 {r50:.2f} ms, p99 {r99:.2f} ms — ratio p50 {p50 / r50:.2f}x, p99 {p99 / r99:.2f}x",
        flush=True,
    )
    plan_sql = sqls[-1]
    with connection.cursor() as cursor:
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + plan_sql)
        print("    plan of the page query: " + " | ".join(str(r[-1]) for r in cursor.fetchall()), flush=True)
    summaries_t = []
    for caisse in rng.sample(sorted(persons_by_caisse), 20):
        client_for(caisse).get("/api/v1/documents/baskets")
        started = time.perf_counter()
        assert client_for(caisse).get("/api/v1/documents/baskets").status_code == 200
        summaries_t.append(time.perf_counter() - started)
    print(
        f"  baskets of a caisse with counts (GET /documents/baskets): p50 {_ms(summaries_t)[0]:.2f} ms",
        flush=True,
    )

    # --- deposit of a 1 MB PDF ---
    pdf = _pdf_of_one_mb()
    person = Person.objects.filter(caisse_id="751").first()
    assert person is not None
    user = User.objects.create_user(username="bench-person", password="bench-not-used-123")
    Account.objects.update_or_create(person=person, defaults={"user": user, "opened_at": timezone.now()})
    request = DocumentRequest.objects.create(person=person, document_types=["bank_details"], label="RIB")
    _token, secret = issue_token(user=user, label="bench")
    person_client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
    from django.core.files.uploadedfile import SimpleUploadedFile

    def post() -> float:
        data = {
            "purpose_kind": "request", "purpose_ref": str(request.pk), "document_type": "bank_details",
            "files": [SimpleUploadedFile("scan.pdf", pdf, content_type="application/pdf")],
        }  # fmt: skip
        started = time.perf_counter()
        response = person_client.post("/api/v1/documents/deposits", data)
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.content[:300]
        return elapsed

    for _ in range(5):
        post()
    deposit_t = [post() for _ in range(DEPOSITS)]
    storage = services.document_storage()
    check_t, encrypt_t, floor_t = [], [], []
    for i in range(DEPOSITS):
        started = time.perf_counter()
        services.check_file("scan.pdf", pdf)
        check_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        services.encrypt(pdf, associated=b"bench")
        encrypt_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        hashlib.sha256(pdf).hexdigest()
        storage.save(f"bench-floor/{i}.bin", io.BytesIO(pdf))
        floor_t.append(time.perf_counter() - started)
    d50, _d95, d99 = _ms(deposit_t)
    f50 = _ms(floor_t)[0]
    print(
        f"  deposit of a {len(pdf) / 1e6:.2f} MB PDF (POST /documents/deposits, {DEPOSITS} requests):\n"
        f"    p50 {d50:.1f} ms, p99 {d99:.1f} ms — target p50 <= {DEPOSIT_P50_MS:.0f} ms: "
        f"{_verdict(d50 <= DEPOSIT_P50_MS)}\n"
        f"    of which checks p50 {_ms(check_t)[0]:.1f} ms, encryption p50 {_ms(encrypt_t)[0]:.1f} ms; "
        f"floor (SHA-256 + plain write) p50 {f50:.1f} ms — ratio p50 {d50 / f50:.1f}x",
        flush=True,
    )


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
