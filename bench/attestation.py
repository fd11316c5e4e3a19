"""Benchmark of the attestation PDF (issue #4): time to draw one certificate of rights, p50 target 20 ms, and
documents per second on one core.

The attestation is drawn from an in-memory Attestation (identity, masked NIR, rights period, three dependants,
verification code) exactly as the download endpoints draw it; no database is involved. The baseline, measured in
the same run, is the smallest PDF fpdf2 writes (one page, one line of text): the ratio shows what our layout
costs on top of the library's fixed cost.

Then, end to end on a fresh SQLite database: the app's `POST /api/v1/teleservices/attestation_droits` (request
row, attestation and its code, contact) followed by the `GET` of its PDF, through the Django test client
(middleware, bearer token, ninja, services, ORM; no HTTP server).

    python -m bench.attestation               # 2,000 documents, 300 requests
    python -m bench.attestation --count 500 --requests 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import tempfile
import time

import django

P50_TARGET_MS = 20.0


def _setup(var_dir: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{var_dir}/attestation.sqlite3"
    os.environ["OMNIGUICHET_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "omniguichet.settings"
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _end_to_end(count: int) -> tuple[list[float], list[float]]:
    """POST of the service and GET of its PDF by an insured person's app token."""
    import datetime as dt

    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from omniguichet.accounts.models import Account
    from omniguichet.core.actors import Actor, Channel
    from omniguichet.core.services import issue_token
    from omniguichet.referential.models import User
    from omniguichet.referential.services import create_person
    from omniguichet.referential.validators import compose_nir

    settings.ALLOWED_HOSTS = ["testserver"]
    birth = dt.date(1984, 12, 3)
    person = create_person(
        actor=Actor.system(), channel=Channel.BACKOFFICE,
        nir=compose_nir(sex="F", birth_date=birth, birth_place="75056", order=1), given_names="Marie Hélène",
        family_name="Lefèvre", birth_date=birth, sex="F", birth_place="75056", caisse_code="751",
        rights_from=dt.date(2010, 1, 1),
    )  # fmt: skip
    user = User.objects.create_user(username=person.nir, password="not-used-in-the-bench-123")
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    _token, secret = issue_token(user=user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    posts, gets = [], []
    for i in range(count + 1):
        started = time.perf_counter()
        response = client.post("/api/v1/teleservices/attestation_droits", {"idempotency_key": f"bench-{i}"},
                               content_type="application/json")  # fmt: skip
        posted = time.perf_counter()
        assert response.status_code == 201, response.content
        document = client.get(response.json()["document_url"])
        assert document.status_code == 200 and document.content.startswith(b"%PDF")
        if i:  # the first one warms up
            posts.append(posted - started)
            gets.append(time.perf_counter() - posted)
    return posts, gets


def _sample_attestation():
    from omniguichet.teleservices.models import Attestation
    from omniguichet.teleservices.services import new_verification_code

    dependants = [
        {"name": f"LEFÈVRE Enfant{i}", "birth_date": f"201{i}-05-0{i + 1}", "nir": "1 1{i} 05 •• ••• ••• ••"}
        for i in range(3)
    ]
    content = {
        "name": "LEFÈVRE Marie Hélène",
        "nir": "2 84 12 •• ••• ••• ••",
        "birth_date": "1984-12-03",
        "caisse": "751 CPAM de Paris",
        "rights_from": "2010-01-01",
        "rights_to": None,
        "address": "3 rue des Lilas 75011 Paris",
        "dependants": dependants,
    }
    return Attestation(
        code=new_verification_code(), kind="droits", issued_at=dt.datetime.now(dt.UTC), content=content
    )


def _minimal_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_compression(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, "Assurance Maladie")
    return bytes(pdf.output())


def _time(fn, count: int) -> list[float]:
    fn()  # warm-up: imports, font metrics
    times = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def _p(times: list[float], q: int) -> float:
    return statistics.quantiles([t * 1000 for t in times], n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    var_dir = tempfile.mkdtemp(prefix="bench-attestation-")
    _setup(var_dir)
    from django.utils import translation

    from omniguichet.teleservices.services import attestation_pdf

    translation.activate("fr")
    attestation = _sample_attestation()
    size = len(attestation_pdf(attestation))
    ours = _time(lambda: attestation_pdf(attestation), args.count)
    base = _time(_minimal_pdf, args.count)
    p50, p95, p99 = _p(ours, 50), _p(ours, 95), _p(ours, 99)
    b50 = _p(base, 50)
    per_s = len(ours) / sum(ours)
    print(
        f"attestation PDF, {args.count} documents, one core ({platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()})"
    )
    print(f"  size {size:,} bytes")
    print(f"  p50 {p50:.2f} ms  p95 {p95:.2f} ms  p99 {p99:.2f} ms  -> {per_s:,.0f} documents/s")
    print(f"  baseline (minimal fpdf2 page) p50 {b50:.2f} ms; ratio {p50 / b50:.2f}x")
    print(f"  target p50 <= {P50_TARGET_MS:.0f} ms: {'met' if p50 <= P50_TARGET_MS else 'MISSED'}")
    translation.deactivate()
    posts, gets = _end_to_end(args.requests)
    print(f"end to end, {args.requests} requests (SQLite, Django test client, app token)")
    print(f"  POST attestation_droits  p50 {_p(posts, 50):.2f} ms  p95 {_p(posts, 95):.2f} ms")
    print(f"  GET its PDF              p50 {_p(gets, 50):.2f} ms  p95 {_p(gets, 95):.2f} ms")
    print(
        f"  -> {len(posts) / (sum(posts) + sum(gets)):,.0f} attestations requested and downloaded per second"
    )
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
