"""Benchmark of the free-slot search (issue #7): 101 caisses x 5 sites x 20 agents and a year of bookings.

The measured call is `GET /api/v1/appointments/slots?motive=ij_dossier&from=<today>&to=<today + 60 days>` for
every site of one caisse (an agent of that caisse asks: the first 30 free slots over the next 60 days), through
the Django test client (the whole stack: middleware, bearer token, django-ninja, service, SQL), and the same
search called on the service directly. The baseline is the SQL the request runs, captured once per case and
re-executed with a raw cursor on the same connection, in the same run: the ratio shows what the application
adds on top of the database.

Bookings: every working day from 300 days ago to 65 days ahead; in the past `--past-per-day` 30-minute
appointments per agent and day, ahead an occupancy falling from 95 % tomorrow to 25 % (about 10 million rows
with the defaults).

    python -m bench.appointments                          # SQLite
    python -m bench.appointments --past-per-day 1          # a lighter year
    DATABASE_URL=postgres://... python -m bench.appointments   # PostgreSQL: a fresh database in that cluster
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time

from bench.crm import _database_url, _ms, _run_raw, _verdict
from bench.seed import _setup

P99_MS = 10.0  # issue #7 target
SAMPLES = 400
SLOTS_PER_DAY = [(8, 30), (9, 0), (9, 30), (10, 0), (10, 30), (11, 0), (11, 30),
                 (13, 30), (14, 0), (14, 30), (15, 0), (15, 30), (16, 0)]  # fmt: skip
COLUMNS = [
    "person_id", "caisse_id", "site_id", "motive_id", "agent_id", "mode", "start", "end", "status", "booked_channel",
    "booked_by_id", "phone", "note", "case_id", "video_room", "checkin_code", "callback_attempts", "retry_after",
    "reminder_sent_at", "created_at", "cancelled_at",
]  # fmt: skip


def _bookings(
    rng: random.Random, agents: list[tuple[int, int, str]], person_ids: list[int], past_per_day: int
):
    """Rows of appointments, a day at a time (already adapted for the database)."""
    from django.db import connection

    from omniguichet.appointments.services import local_datetime

    adapt = connection.ops.adapt_datetimefield_value
    today = dt.date.today()
    now = adapt(dt.datetime.now(dt.UTC))
    half_hour = dt.timedelta(minutes=30)
    counter = 0
    for offset in range(-300, 66):
        day = today + dt.timedelta(days=offset)
        if day.weekday() >= 5 or offset == 0:
            continue
        starts = [local_datetime(day, dt.time(h, m)) for h, m in SLOTS_PER_DAY]
        times = [(adapt(s), adapt(s + half_hour)) for s in starts if s is not None]
        if offset < 0:
            per_day, status = past_per_day, "done"
        else:
            per_day, status = round(len(times) * max(0.25, 0.95 - offset * 0.015)), "booked"
        rows = []
        for agent_id, site_id, caisse in agents:
            for i in rng.sample(range(len(times)), per_day):
                counter += 1
                start, end = times[i]
                rows.append((
                    person_ids[counter % len(person_ids)], caisse, site_id, "ij_dossier", agent_id, "desk", start,
                    end, status, "web", None, "", "", None, "", f"B{counter:09d}", 0, None, None, now, None,
                ))  # fmt: skip
        yield rows


def _load(past_per_day: int) -> int:
    from django.db import transaction

    from omniguichet.appointments.models import AgentAvailability, Appointment
    from omniguichet.core.db import bulk_insert_rows, fast_bulk_load, secondary_indexes_deferred
    from omniguichet.referential.models import Person

    rng = random.Random(7)
    person_ids = list(Person.objects.values_list("pk", flat=True))
    rng.shuffle(person_ids)
    agents = sorted(set(AgentAvailability.objects.values_list("agent_id", "site_id", "site__caisse_id")))
    written = 0
    with fast_bulk_load(), transaction.atomic(), secondary_indexes_deferred([Appointment]):
        for rows in _bookings(rng, agents, person_ids, past_per_day):
            bulk_insert_rows(Appointment, COLUMNS, rows)
            written += len(rows)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--agents-per-site", type=int, default=20)
    parser.add_argument(
        "--past-per-day", type=int, default=3, help="past appointments per agent and working day"
    )
    parser.add_argument("--samples", type=int, default=SAMPLES)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    with tempfile.TemporaryDirectory() as var_dir:
        _setup(_database_url(base_url, var_dir), var_dir)
        _bench(engine, args)


def _bench(engine: str, args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from omniguichet.appointments.models import AgentAvailability, Appointment, Site
    from omniguichet.appointments.services import find_free_slots, seed_sites
    from omniguichet.core.actors import Actor, Channel
    from omniguichet.core.services import issue_token
    from omniguichet.demo.services import seed_population
    from omniguichet.referential.models import Caisse, User

    if engine == "PostgreSQL":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            engine = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    print(f"appointments bench on {engine}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}", flush=True)
    started = time.perf_counter()
    seed_population(persons=args.persons, seed=42)
    seed_sites(sites_per_caisse=5, agents_per_site=args.agents_per_site)
    print(
        f"  {Caisse.objects.count()} caisses, {Site.objects.count()} sites, "
        f"{AgentAvailability.objects.values('agent').distinct().count():,} agents, {args.persons:,} persons "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    started = time.perf_counter()
    written = _load(args.past_per_day)
    seconds = time.perf_counter() - started
    print(
        f"  a year of bookings: {written:,} appointments in {seconds:.1f} s ({written / seconds:,.0f}/s)",
        flush=True,
    )
    if connection.vendor == "postgresql":
        # As autovacuum would on a live database: planner statistics of the freshly loaded tables (a search
        # measured right after a fast load would otherwise be planned without them).
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"  ANALYZE ({time.perf_counter() - started:.1f} s)", flush=True)
    connection.close()

    rng = random.Random(2026)
    caisses = list(Caisse.objects.values_list("code", flat=True))
    today = dt.date.today()
    until = today + dt.timedelta(days=60)
    service: list[float] = []
    endpoint: list[float] = []
    raw: list[float] = []
    queries: list[int] = []
    found: list[int] = []
    clients: dict[str, Client] = {}
    for _ in range(args.samples):
        code = rng.choice(caisses)
        agent = User.objects.get(username=f"agent-{code}")
        if code not in clients:
            clients[code] = Client(
                HTTP_HOST="localhost",
                HTTP_AUTHORIZATION=f"Bearer {issue_token(user=agent, label='bench')[1]}",
            )
        url = f"/api/v1/appointments/slots?motive=ij_dossier&from={today}&to={until}"
        with CaptureQueriesContext(connection) as captured:
            response = clients[code].get(url)
        assert response.status_code == 200, response.content[:300]
        sqls = [q["sql"] for q in captured.captured_queries]
        t0 = time.perf_counter()
        response = clients[code].get(url)
        endpoint.append(time.perf_counter() - t0)
        found.append(len(response.json()))
        t0 = time.perf_counter()
        find_free_slots(actor=Actor.agent(agent), channel=Channel.PHONE, motive="ij_dossier", date_from=today,
                        date_to=until)  # fmt: skip
        service.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _run_raw(sqls)
        raw.append(time.perf_counter() - t0)
        queries.append(len(sqls))
    e50, e95, e99 = _ms(endpoint)
    s50, s95, s99 = _ms(service)
    r50, r95, r99 = _ms(raw)
    print(
        f"Free-slot search, every site of a random caisse, next 60 days, first 30 slots ({args.samples} samples, "
        f"{min(found)}-{max(found)} slots found, {min(queries)}-{max(queries)} queries a request):",
        flush=True,
    )
    print(f"  endpoint  p50 {e50:6.2f} ms  p95 {e95:6.2f} ms  p99 {e99:6.2f} ms   target p99 <= {P99_MS} ms: "
          f"{_verdict(e99 <= P99_MS)}")  # fmt: skip
    print(f"  service   p50 {s50:6.2f} ms  p95 {s95:6.2f} ms  p99 {s99:6.2f} ms")
    print(
        f"  raw SQL   p50 {r50:6.2f} ms  p95 {r95:6.2f} ms  p99 {r99:6.2f} ms   ratio endpoint/raw p99 {e99 / r99:.2f}x"
    )
    print(f"  ({Appointment.objects.filter(status='booked').count():,} live appointments ahead)", flush=True)


if __name__ == "__main__":
    main()
