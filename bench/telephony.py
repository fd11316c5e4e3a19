"""Benchmark of the telephony events (issue 17, section 6): event lines ingested per second, through the service
(`telephony.services.ingest_events`, batches of 10,000 lines as the phone platform sends them) and through the
HTTP endpoint (`POST /api/v1/telephony/events`, NDJSON, with Django's test client and a bearer token). Target:
at least 5,000 events/s.

The lines are those of `omniguichet simulate-calls`: whole calls (new, ivr, queued, answer or not, hangup), three
callers in four phoning from their verified mobile (so about 75 % of the calls end in a Contact), the abandoned
ones after more than 30 s offered a call-back by SMS through the ledger. A replay of the same batches (every line
a duplicate) is timed too.

    python -m bench.telephony                                # SQLite, 20,000 persons, 20,000 calls each way
    python -m bench.telephony --calls 50000
    DATABASE_URL=postgres://... python -m bench.telephony   # PostgreSQL: a fresh database in that cluster
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time

from bench.crm import _database_url
from bench.seed import _setup

TARGET_PER_S = 5_000


def _lines(calls: int, day: dt.date, prefix: str, callers: list[str], agents: list[str]) -> list[list[dict]]:
    from omniguichet.telephony.services import call_lines

    return [
        lines
        for lines, _n, _k in call_lines(calls=calls, day=day, callers=callers, agents=agents, prefix=prefix)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument(
        "--calls", type=int, default=20_000, help="calls played each way (about 4.7 lines a call)"
    )
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="bench-telephony-")
    database_url = _database_url(os.environ.get("DATABASE_URL"), var_dir, "telephony")
    _setup(database_url, var_dir)

    from django.db import connection
    from django.test import Client

    from omniguichet.core.actors import Actor, Channel
    from omniguichet.core.services import issue_token
    from omniguichet.demo import services as demo
    from omniguichet.referential.models import ContactPoint, Role, User
    from omniguichet.telephony import services
    from omniguichet.telephony.models import Call

    demo.seed_population(persons=args.persons, seed=42)
    callers = list(
        ContactPoint.objects.filter(kind="mobile", verified=True)
        .order_by("id")
        .values_list("value", flat=True)
    )
    agents = list(User.objects.filter(role=Role.MANAGER).order_by("id").values_list("username", flat=True))
    platform_user = User.objects.create_user("cti-platform", role=Role.NATIONAL_SUPERVISOR)
    _token, secret = issue_token(user=platform_user)
    day = dt.date.today() - dt.timedelta(days=2)
    actor = Actor.system("bench")
    figures: dict[str, object] = {"database": connection.vendor, "persons": args.persons, "calls": args.calls}

    def timed(batches: list[list[dict]], send) -> tuple[int, float]:
        started = time.perf_counter()
        for lines in batches:
            send(lines)
        return sum(len(b) for b in batches), time.perf_counter() - started

    # Through the service.
    batches = _lines(args.calls, day, "bench-svc-", callers, agents)
    events, seconds = timed(
        batches, lambda rows: services.ingest_events(actor=actor, channel=Channel.BACKOFFICE, rows=rows)
    )
    figures["service_events"] = events
    figures["service_per_s"] = round(events / seconds)
    _n, seconds = timed(
        batches, lambda rows: services.ingest_events(actor=actor, channel=Channel.BACKOFFICE, rows=rows)
    )
    figures["service_replay_per_s"] = round(events / seconds)

    # Through the HTTP endpoint (NDJSON bodies built beforehand).
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="127.0.0.1")
    bodies = [
        "\n".join(json.dumps(line) for line in b)
        for b in _lines(args.calls, day - dt.timedelta(days=1), "bench-http-", callers, agents)
    ]

    def post(body: str) -> None:
        response = client.post("/api/v1/telephony/events", body, content_type="application/x-ndjson")
        assert response.status_code == 200, response.content[:500]

    started = time.perf_counter()
    for body in bodies:
        post(body)
    seconds = time.perf_counter() - started
    http_events = sum(body.count("\n") + 1 for body in bodies)
    figures["http_events"] = http_events
    figures["http_per_s"] = round(http_events / seconds)
    started = time.perf_counter()
    for body in bodies:
        post(body)
    figures["http_replay_per_s"] = round(http_events / (time.perf_counter() - started))

    played = Call.objects.all()
    total = played.count()
    figures["answer_rate"] = round(played.filter(answered_at__isnull=False).count() / total, 3)
    figures["contacts"] = played.filter(contact__isnull=False).count()
    figures["callbacks_offered"] = played.filter(callback_offered=True).count()
    figures["machine"] = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    print(json.dumps(figures))
    for name in ("service_per_s", "http_per_s"):
        verdict = "met" if figures[name] >= TARGET_PER_S else "MISSED"  # type: ignore[operator]
        print(f"{name}: {figures[name]:,} events/s (target {TARGET_PER_S:,}: {verdict})")


if __name__ == "__main__":
    main()
