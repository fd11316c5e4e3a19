"""Benchmark of secure messaging (issue 17): messages written through the API per second, and the agents' queue.

Writing: `POST /api/v1/me/threads` (a new conversation: motive, subject, a 600-character body) and
`POST /api/v1/me/threads/{id}/messages` (the next message of one), by persons with an online account, in-process
through the Django test client (middleware, bearer token, django-ninja, the checks, the thread, the message and
the record's contact in one transaction), one process. Target: ≥ 1,000 messages/s on PostgreSQL.

Queue: `GET /api/v1/messaging/threads` (a caisse's waiting conversations, oldest deadline first) by an agent.

    python -m bench.messaging                                  # SQLite
    python -m bench.messaging --messages 5000
    DATABASE_URL=postgres://... python -m bench.messaging     # PostgreSQL: a fresh database in that cluster
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

from bench.crm import _database_url, _ms, _verdict
from bench.seed import _setup

TARGET_PER_SECOND = 1000.0
QUEUE_SAMPLES = 300


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--persons", type=int, default=5000)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    with tempfile.TemporaryDirectory() as var_dir:
        _setup(_database_url(base_url, var_dir, "messaging"), var_dir)
        _bench(engine, args.messages, args.persons)


def _bench(engine: str, messages: int, persons: int) -> None:
    from django.test import Client

    from omniguichet.accounts.models import Account
    from omniguichet.core.services import issue_token
    from omniguichet.demo.services import ensure_demo_users, seed_population
    from omniguichet.referential.models import User

    print(
        f"messaging bench on {engine}, {messages:,} messages, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
    )
    ensure_demo_users()
    seed_population(persons=persons, seed=42)
    accounts = list(Account.objects.select_related("person").filter(person__caisse_id="751")[:200])
    if not accounts:
        raise SystemExit("no account in caisse 751: seed more persons")
    for account in accounts:  # the demo's accounts get their login at the first sign-in: made here
        if account.user_id is None:
            account.user = User.objects.create_user(username=f"bench-{account.pk}", role="")
            account.save(update_fields=["user"])
    clients = [
        Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {issue_token(user=a.user)[1]}")
        for a in accounts
    ]
    rng = random.Random(17)
    motives = [
        "remboursement",
        "attestation_droits",
        "carte_vitale",
        "ij_suivi",
        "changement_rib",
        "reclamation",
    ]
    body = ("Bonjour, je vous écris au sujet de mon remboursement du mois dernier. " * 9)[:600]
    threads: dict[int, int] = {}
    # Warm-up: every client's first request (token cache, prepared statements).
    for index, client in enumerate(clients):
        response = client.post(
            "/api/v1/me/threads", {"motive": "autre", "body": body}, content_type="application/json"
        )
        assert response.status_code == 201, response.content
        threads[index] = response.json()["thread"]["id"]
    durations: list[float] = []
    started = time.perf_counter()
    for n in range(messages):
        index = rng.randrange(len(clients))
        client = clients[index]
        t0 = time.perf_counter()
        if n % 2:
            response = client.post(
                f"/api/v1/me/threads/{threads[index]}/messages",
                {"body": body},
                content_type="application/json",
            )
        else:
            response = client.post(
                "/api/v1/me/threads",
                {"motive": rng.choice(motives), "subject": "Question", "body": body},
                content_type="application/json",
            )
        durations.append(time.perf_counter() - t0)
        if response.status_code != 201:
            raise SystemExit(f"message {n}: {response.status_code} {response.content[:200]!r}")
    elapsed = time.perf_counter() - started
    rate = messages / elapsed
    p50, _p95, p99 = _ms(durations)
    print(f"  messages through the API: {rate:8.0f} /s  (p50 {p50:.1f} ms, p99 {p99:.1f} ms), one process")
    print(f"  target ≥ {TARGET_PER_SECOND:,.0f}/s on PostgreSQL: {_verdict(rate >= TARGET_PER_SECOND)}")
    agent = User.objects.get(username="agent-751")
    agent_client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {issue_token(user=agent)[1]}")
    queue: list[float] = []
    for _ in range(QUEUE_SAMPLES):
        t0 = time.perf_counter()
        response = agent_client.get("/api/v1/messaging/threads")
        queue.append(time.perf_counter() - t0)
        assert response.status_code == 200
    p50, _p95, p99 = _ms(queue)
    print(f"  caisse queue (50 oldest deadlines of {messages // 2 + len(clients):,} threads): p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
