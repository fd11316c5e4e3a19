"""Benchmark of secure messaging (issue 17): messages written through the API per second, and the agents' queue.

Writing: `POST /api/v1/me/threads` (a new conversation: motive, subject, a 600-character body) and
`POST /api/v1/me/threads/{id}/messages` (the next message of one), by persons with an online account, in-process
through the Django test client (middleware, bearer token, django-ninja, the checks, the thread, the message and
the record's contact in one transaction), one process. Target: ≥ 1,000 messages/s on PostgreSQL.

Queue: `GET /api/v1/messaging/threads` (a caisse's waiting conversations, oldest deadline first) by an agent.

`--profile N`: N more messages under cProfile, and where their time goes by layer (the test client, Django's
middleware and URL resolution, django-ninja's authentication, parsing and answer, our service, SQL, commit).

`--http CLIENTS`: then the way production serves it: `omniguichet serve --production --workers W` (gunicorn,
its task worker; no push process nor mailin) on the same database, and CLIENTS client processes each sending
messages for `--seconds` on one keep-alive HTTP connection (http.client). The CPU each side used during the
measured seconds is read from /proc (utime + stime, with the reaped children's): the server's processes, the
PostgreSQL cluster's (the postmaster and its children), the clients' own; per message, so that the figure can be
projected to N cores.

    python -m bench.messaging                                  # SQLite
    python -m bench.messaging --messages 5000
    DATABASE_URL=postgres://... python -m bench.messaging     # PostgreSQL: a fresh database in that cluster
    DATABASE_URL=postgres://... python -m bench.messaging --messages 1000 --profile 500 --http 4 --seconds 20
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import multiprocessing
import os
import pstats
import random
import secrets
import signal
import socket
import subprocess
import sys
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
    parser.add_argument("--profile", type=int, default=0, help="N more messages under cProfile, by layer")
    parser.add_argument("--http", type=int, default=0, help="client processes against serve --production")
    parser.add_argument("--seconds", type=float, default=20.0, help="--http: measured seconds")
    parser.add_argument("--workers", type=int, default=2, help="--http: gunicorn workers")
    args = parser.parse_args()
    for name in ("messages", "persons", "profile", "http", "workers"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be 0 or more")
    if args.messages < 2 or args.workers < 1 or args.seconds <= 0:
        parser.error("--messages must be at least 2, --workers at least 1, --seconds more than 0")
    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    with tempfile.TemporaryDirectory() as var_dir:
        database_url = _database_url(base_url, var_dir, "messaging")
        _setup(database_url, var_dir)
        clients, threads = _bench(engine, args.messages, args.persons)
        if args.profile:
            _profile(clients, threads, args.profile)
        if args.http:
            _http(clients, threads, database_url, var_dir, args)


MOTIVES = ["remboursement", "attestation_droits", "carte_vitale", "ij_suivi", "changement_rib", "reclamation"]
BODY = ("Bonjour, je vous écris au sujet de mon remboursement du mois dernier. " * 9)[:600]


def _send(client, rng: random.Random, index: int, thread_id: int, n: int):
    """The bench's message n: every other one a new conversation, the others the next message of one."""
    if n % 2:
        return client.post(
            f"/api/v1/me/threads/{thread_id}/messages", {"body": BODY}, content_type="application/json"
        )
    return client.post(
        "/api/v1/me/threads",
        {"motive": rng.choice(MOTIVES), "subject": "Question", "body": BODY},
        content_type="application/json",
    )


def _bench(engine: str, messages: int, persons: int) -> tuple[list, dict[int, int]]:
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
    body = BODY
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
        response = _send(client, rng, index, threads[index], n)
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
    return clients, threads


# (label, file suffix, function): cumulative times read from the profile; the layers nest as indented.
LAYERS = [
    ("the whole request, through the test client", "django/test/client.py", "post"),
    ("  Django's handler (what a WSGI server calls)", "django/core/handlers/base.py", "get_response"),
    ("    django-ninja's view (after middleware and URL resolution)", "ninja/operation.py", "_sync_view"),
    ("      authentication (bearer token, its query)", "ninja/operation.py", "_run_authentication"),
    ("      parsing and validating the JSON body", "ninja/operation.py", "_get_values"),
    ("      our view: POST /me/threads", "messaging/api.py", "create_thread"),
    ("      our view: POST /me/threads/{id}/messages", "messaging/api.py", "follow_up"),
    ("        the service (messaging.services.write_message)", "services/threads.py", "write_message"),
    ("      the answer (pydantic, JSON)", "ninja/operation.py", "_result_to_response"),
    ("SQL statements (driver and database's answer)", "django/db/backends/utils.py", "_execute"),
    ("commits", "django/db/backends/base/base.py", "commit"),
    ("the deadline (calendar)", "crm/services/deadlines.py", "deadline_and_due_soon"),
    ("the work item (baskets)", "services/items.py", "thread_waits"),
    ("the record's contact (crm.record_contact)", "crm/services/recording.py", "record_contact"),
]


def statements_reset() -> bool:
    """pg_stat_statements emptied, when the cluster loads it (shared_preload_libraries): True if so."""
    from django.db import DatabaseError, connection, transaction

    if connection.vendor != "postgresql":
        return False
    try:
        # A savepoint: without the library loaded the failure must not abort a surrounding transaction (tests).
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            cursor.execute("SELECT pg_stat_statements_reset()")
        return True
    except DatabaseError:
        return False


def statements_report(per: int, label: str) -> None:
    """The statements PostgreSQL spent most time executing since the reset, per `label`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT calls, total_exec_time, total_plan_time, query FROM pg_stat_statements "
            "WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time + total_plan_time DESC LIMIT 12"
        )
        rows = cursor.fetchall()
    total = sum(r[1] + r[2] for r in rows)
    print(
        f"    pg_stat_statements (execution + planning, the 12 costliest): {1000 * total / per:.0f} µs per {label}"
    )
    for calls, execute, plan, query in rows:
        print(f"      {calls / per:5.2f} calls, {1000 * (execute + plan) / per:6.1f} µs per {label}: "
              f"{' '.join(query.split())[:90]}")  # fmt: skip


def _profile(clients: list, threads: dict[int, int], messages: int) -> None:
    """`messages` more messages under cProfile; the cumulative time of each layer as a share of the whole."""
    rng = random.Random(23)
    with_statements = statements_reset()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for n in range(messages):
        index = rng.randrange(len(clients))
        response = _send(clients[index], rng, index, threads[index], n)
        assert response.status_code == 201, response.content
    profiler.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values())
    print(f"  profile of {messages} messages: {1000 * wall / messages:.2f} ms each under cProfile, "
          f"{1000 * total / messages:.2f} ms of profiled time")  # fmt: skip
    print_layers(table, LAYERS, per=messages)
    if with_statements:
        statements_report(messages, "message")


def print_layers(table: dict, layers, *, per: int) -> None:
    """The cumulative time of each layer (label, file suffix, function) per unit and as a share of the profiled
    time, then the 15 functions with the most own time (a `pstats.Stats(...).stats` table)."""
    total = sum(row[2] for row in table.values())
    for label, suffix, function in layers:
        cumulative = sum(
            row[3] for (filename, _line, name), row in table.items()
            if name == function and filename.endswith(suffix)
        )  # fmt: skip
        print(f"    {label:<66} {1000 * cumulative / per:6.2f} ms  {100 * cumulative / total:5.1f} %")
    print("    top functions by own time:")
    for (filename, line, name), row in sorted(table.items(), key=lambda kv: -kv[1][2])[:15]:
        short = "/".join(filename.split("/")[-2:])
        print(f"      {1000 * row[2] / per:6.3f} ms  {short}:{line} {name}")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process with its reaped children's (cutime, cstime), in seconds (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """root and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _postmaster() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_directory = cursor.fetchone()[0]
    try:
        with open(os.path.join(data_directory, "postmaster.pid")) as f:
            return int(f.readline())
    except OSError:
        return None


def _http_client(port: int, tokens: list[tuple[str, int]], seconds: float, start, results) -> None:
    """One client process: one keep-alive connection, messages for `seconds` once `start` is set."""
    rng = random.Random(os.getpid())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    durations: list[float] = []
    errors = 0
    start.wait()
    cpu0, until = os.times(), time.monotonic() + seconds
    n = 0
    while time.monotonic() < until:
        token, thread_id = tokens[rng.randrange(len(tokens))]
        if n % 2:
            path, payload = f"/api/v1/me/threads/{thread_id}/messages", {"body": BODY}
        else:
            path, payload = (
                "/api/v1/me/threads",
                {"motive": rng.choice(MOTIVES), "subject": "Question", "body": BODY},
            )
        t0 = time.perf_counter()
        connection.request("POST", path, json.dumps(payload), {**headers, "Authorization": token})
        response = connection.getresponse()
        response.read()
        durations.append(time.perf_counter() - t0)
        if response.status != 201:
            errors += 1
        n += 1
    cpu1 = os.times()
    results.put((durations, errors, (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)))


def _wait_http(port: int, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server stopped before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https", "Host": "127.0.0.1"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("no answer from the server")


def _http(clients: list, threads: dict[int, int], database_url: str, var_dir: str, args) -> None:
    from django.conf import settings
    from django.db import connections

    tokens = [(c.defaults["HTTP_AUTHORIZATION"], threads[i]) for i, c in enumerate(clients)]
    postmaster = _postmaster()
    connections.close_all()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=database_url, OMNIGUICHET_VAR_DIR=var_dir, ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0",
        SECRET_KEY=settings.SECRET_KEY or secrets.token_urlsafe(50),
    )  # fmt: skip
    command = [sys.executable, "-m", "omniguichet.cli", "serve", "--production", "--workers", str(args.workers),
               "--port", str(port), "--push-port", "0", "--mailin-port", "0"]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = multiprocessing.get_context("fork")
    try:
        _wait_http(port, server)
        for warm in (True, False):  # a first short round: every worker imports, connects and fills its caches
            start, results = context.Event(), context.Queue()
            seconds = 3.0 if warm else args.seconds
            procs = [
                context.Process(target=_http_client, args=(port, tokens, seconds, start, results))
                for _ in range(args.http)
            ]
            for p in procs:
                p.start()
            time.sleep(0.5)
            server_pids = _tree(server.pid)
            server0 = sum(_cpu_seconds(pid) for pid in server_pids)
            pg0 = (
                _cpu_seconds(postmaster) + sum(_cpu_seconds(p) for p in _tree(postmaster)[1:])
                if postmaster
                else 0.0
            )
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            start.set()
            outs = [results.get() for _ in procs]
            elapsed = time.perf_counter() - t0
            for p in procs:
                p.join()
            if warm:
                continue
            server1 = sum(_cpu_seconds(pid) for pid in server_pids)
            pg1 = (
                _cpu_seconds(postmaster) + sum(_cpu_seconds(p) for p in _tree(postmaster)[1:])
                if postmaster
                else 0.0
            )
            durations = [d for out in outs for d in out[0]]
            errors = sum(out[1] for out in outs)
            client_cpu = sum(out[2] for out in outs)
            count = len(durations)
            rate = count / elapsed
            p50, _p95, p99 = _ms(durations)
            per = {"server": (server1 - server0), "postgres": (pg1 - pg0), "clients": client_cpu}
            busy = sum(per.values())
            print(f"  over HTTP: serve --production --workers {args.workers}, {args.http} clients, {elapsed:.1f} s: "
                  f"{count:,} messages ({errors} not 201), {rate:,.0f} /s (p50 {p50:.1f} ms, p99 {p99:.1f} ms), "
                  f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}")  # fmt: skip
            for name, cpu in per.items():
                print(f"    CPU {name:<9} {cpu:7.2f} s = {1000 * cpu / max(count, 1):6.3f} ms per message "
                      f"({100 * cpu / elapsed:5.1f} % of one core)")  # fmt: skip
            server_pg = per["server"] + per["postgres"]
            print(f"    server + PostgreSQL: {1000 * server_pg / max(count, 1):.3f} ms of CPU per message: "
                  f"{TARGET_PER_SECOND:,.0f} messages/s need {TARGET_PER_SECOND * server_pg / max(count, 1):.1f} "
                  f"cores without the clients ({busy / elapsed:.2f} of {os.cpu_count()} cores busy)")  # fmt: skip
            print(
                f"  target ≥ {TARGET_PER_SECOND:,.0f}/s on PostgreSQL over HTTP: {_verdict(rate >= TARGET_PER_SECOND)}"
            )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
