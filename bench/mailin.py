"""Benchmark of e-mail received by the platform (issue 17, section 3): e-mails per second through SMTP, parsed,
matched, stored.

The mailin server (`omniguichet mailin --processes P`, aiosmtpd) runs on a free port, storing in its worker
threads (1 on SQLite, 4 on PostgreSQL); with P > 1 the processes share the port (SO_REUSEPORT). Three sending
clients, each a separate process with one SMTP
connection, send at the same time: two send text e-mails of 5 to 50 KB (70 % from senders with a verified
address, 30 % unknown, a quarter of them replies with In-Reply-To), the third e-mails with a small PDF
attachment (checked by the documents' checks, stored encrypted). Every e-mail is parsed, matched, threaded,
classified (new threads) and stored with its contact in one transaction; the acknowledgements are written by
Django's file e-mail backend under the var directory (built and written, not sent over the network). Target:
≥ 200 e-mails/s on PostgreSQL.

The CPU each side used while the e-mails were sent is read from /proc (utime + stime, with reaped children's):
the mailin processes, the PostgreSQL cluster (its postmaster and children), the clients; per e-mail.

`--profile N`: first, N e-mails of the same mix stored in-process by `receive_email` under cProfile, and where
their time goes by layer (parsing, classifier, files, SQL, commit). `--smtp-only`: first, the same e-mails
received by aiosmtpd with a handler that stores nothing, in this process: the CPU of SMTP reading per e-mail.

    python -m bench.mailin                                  # SQLite
    python -m bench.mailin --emails 3000
    DATABASE_URL=postgres://... python -m bench.mailin     # PostgreSQL: a fresh database in that cluster
    DATABASE_URL=postgres://... python -m bench.mailin --profile 300 --smtp-only
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import random
import signal
import smtplib
import socket
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP

from bench.crm import _database_url, _ms, _verdict
from bench.messaging import (
    _cpu_seconds,
    _postmaster,
    _tree,
    print_layers,
    statements_report,
    statements_reset,
)
from bench.seed import _setup

TARGET_PER_SECOND = 200.0
SENTENCE = (
    "bonjour je vous écris au sujet de mon remboursement carte vitale attestation de droits arrêt de travail "
    "indemnités journalières changement d'adresse relevé IBAN dossier merci de votre réponse cordialement "
    "madame monsieur semaine dernière médecin pharmacie consultation hôpital mutuelle complémentaire"
)
WORDS = SENTENCE.split(" ")


def _pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Justificatif de domicile")
    return bytes(pdf.output())


def _messages(client: int, count: int, senders: list[str], pdf: bytes) -> list[tuple[str, bytes]]:
    rng = random.Random(client)
    out: list[tuple[str, bytes]] = []
    sent_ids: list[str] = []
    for n in range(count):
        sender = rng.choice(senders) if rng.random() < 0.7 else f"inconnu{client}-{n}@example.net"
        message = EmailMessage()
        message["From"] = sender
        message["To"] = "751@courriel.example"
        message["Subject"] = rng.choice(
            ["Remboursement", "Carte vitale", "Attestation", "Question", "Dossier"]
        )
        message_id = f"<bench-{client}-{n}-{rng.getrandbits(32)}@example.net>"
        message["Message-ID"] = message_id
        if sent_ids and rng.random() < 0.25:
            message["In-Reply-To"] = rng.choice(sent_ids)
        if client == 3:
            message.set_content("Bonjour, voici le justificatif demandé.\nCordialement")
            message.add_attachment(pdf, maintype="application", subtype="pdf", filename="justificatif.pdf")
        else:
            size = rng.randint(5_000, 50_000)
            text, length = [], 0
            while length < size:
                word = rng.choice(WORDS)
                text.append(word + ("\n" if len(text) % 12 == 11 else " "))
                length += len(word) + 1
            message.set_content("".join(text))
        sent_ids.append(message_id)
        out.append((sender, message.as_bytes(policy=SMTP)))  # CRLF line ends, as on the wire
    return out


def _client(port: int, messages: list[tuple[str, bytes]], start, results, connections: int = 1) -> None:
    """One sending client (an MTA): `connections` SMTP connections at once, each in a thread, the messages dealt
    out in turn; a connection is opened again every 50 messages, as an MTA delivers its queue in batches (and
    the kernel shares each new connection out between the server processes)."""
    import threading

    start.wait()
    t0 = time.perf_counter()
    cpu0 = os.times()
    durations: list[float] = []
    failures: list[BaseException] = []

    def send(share: list[tuple[str, bytes]]) -> None:
        try:
            for first in range(0, len(share), 50):
                with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
                    for sender, data in share[first : first + 50]:
                        t = time.perf_counter()
                        smtp.sendmail(sender, ["751@courriel.example"], data)
                        durations.append(time.perf_counter() - t)
        except BaseException as exc:  # reported by the parent
            failures.append(exc)

    try:
        threads = [
            threading.Thread(target=send, args=(messages[k::connections],)) for k in range(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:  # the parent waits for every client, even one that failed
        cpu1 = os.times()
        cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        results.put((time.perf_counter() - t0, durations, sum(len(d) for _s, d in messages), cpu))
    if failures:
        raise failures[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--emails", type=int, default=3000, help="in all, over the three clients")
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2, help="mailin server processes")
    parser.add_argument("--profile", type=int, default=0, help="first, N e-mails in-process under cProfile")
    parser.add_argument("--smtp-only", action="store_true", help="first, aiosmtpd alone (nothing stored)")
    parser.add_argument(
        "--connections", type=int, default=4, help="SMTP connections at once per sending client (1 to 20)"
    )
    args = parser.parse_args()
    if args.emails < 5 or args.persons < 1 or args.processes < 1 or args.profile < 0:
        parser.error("--emails at least 5, --persons and --processes at least 1, --profile 0 or more")
    if not 1 <= args.connections <= 20:
        parser.error("--connections from 1 to 20")
    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    with tempfile.TemporaryDirectory() as var_dir:
        _setup(_database_url(base_url, var_dir, "mailin"), var_dir)
        _bench(
            engine, args.emails, args.persons, args.processes, args.profile, args.smtp_only, args.connections
        )


def _wait_for(port: int) -> None:
    for _ in range(240):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                smtp.noop()
            return
        except OSError:
            time.sleep(0.25)
    raise SystemExit("mailin did not start")


LAYERS = [
    ("receive_email (one e-mail stored)", "services/mailin.py", "receive_email"),
    ("  parsing (email package, nh3)", "services/mailparse.py", "parse_email"),
    ("    email.message_from_bytes (feedparser)", "email/__init__.py", "message_from_bytes"),
    ("    the text part decoded", "services/mailparse.py", "_strict_text"),
    ("    headers read (policy default header objects)", "services/mailparse.py", "_header"),
    ("  classifier (new threads)", "services/mailin.py", "_motive"),
    ("  the files' checks", "services/mailin.py", "_check_files"),
    ("  stored encrypted", "documents/services/storage.py", "store_encrypted"),
    ("  the thread looked up (references)", "services/mailin.py", "_find_thread"),
    ("  the sender matched", "referential/services.py", "person_with_verified_contact"),
    ("  the work item (baskets)", "services/items.py", "thread_waits"),
    ("  the record's contact", "crm/services/recording.py", "record_contact"),
    ("SQL statements (driver and database's answer)", "django/db/backends/utils.py", "_execute"),
    ("commits", "django/db/backends/base/base.py", "commit"),
]


def _profile(batches: dict[int, list[tuple[str, bytes]]], count: int) -> None:
    """`count` e-mails of the same mix (two text clients, one PDF client) stored in this process under cProfile."""
    from omniguichet.messaging.services.mailin import receive_email

    # the three clients' e-mails interleaved in their proportions (2 : 2 : 1), each once
    ordered = sorted(
        (i / len(batch), client, i) for client, batch in batches.items() for i in range(len(batch))
    )
    mix = [batches[client][i] for _f, client, i in ordered]
    sample = [(s, d.replace(b"Message-ID: <bench-", b"Message-ID: <profile-")) for s, d in mix[:count]]
    with_statements = statements_reset()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for sender, data in sample:
        receive_email(caisse_code="751", data=data, envelope_sender=sender)
    profiler.disable()
    wall = time.perf_counter() - started
    n = len(sample)
    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    print(f"  profile of {n} e-mails stored in-process: {1000 * wall / n:.2f} ms each under cProfile")
    print_layers(table, LAYERS, per=n)
    if with_statements:
        statements_report(n, "e-mail")


def _smtp_only(batches: dict[int, list[tuple[str, bytes]]]) -> None:
    """aiosmtpd in this process with a handler that stores nothing: its CPU per e-mail (the clients forked)."""
    from aiosmtpd.controller import Controller

    class Nothing:
        async def handle_DATA(self, server, session, envelope) -> str:
            return "250 2.0.0 not stored"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Nothing(), hostname="127.0.0.1", port=port, decode_data=False, data_size_limit=26_214_400
    )
    controller.start()
    try:
        context = multiprocessing.get_context("fork")
        start, results = context.Event(), context.Queue()
        clients = [context.Process(target=_client, args=(port, batches[c], start, results)) for c in batches]
        for process in clients:
            process.start()
        time.sleep(0.5)
        cpu0 = os.times()
        began = time.perf_counter()
        start.set()
        outcomes = [results.get(timeout=3600) for _ in clients]
        elapsed = time.perf_counter() - began
        cpu1 = os.times()
        for process in clients:
            process.join()
    finally:
        controller.stop()
    count = sum(len(b) for b in batches.values())
    server_cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    client_cpu = sum(o[3] for o in outcomes)
    print(f"  aiosmtpd alone (nothing stored), one process: {count / elapsed:,.0f} e-mails/s; CPU per e-mail: "
          f"server {1000 * server_cpu / count:.2f} ms, clients {1000 * client_cpu / count:.2f} ms")  # fmt: skip


def _bench(
    engine: str,
    emails: int,
    persons: int,
    processes: int,
    profile: int = 0,
    smtp_only: bool = False,
    per_client: int = 1,
) -> None:
    import subprocess
    import sys

    from django.db import connections

    from omniguichet.crm.classifier import suggest_motive
    from omniguichet.demo.services import seed_population
    from omniguichet.messaging.models import Attachment, Message, Thread
    from omniguichet.referential.models import ContactPoint

    print(
        f"mailin bench on {engine}, {emails:,} e-mails, {processes} server process(es), 3 clients with "
        f"{per_client} connection(s) each, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    seed_population(persons=persons, seed=42)
    senders = list(
        ContactPoint.objects.filter(kind="email", verified=True, person__caisse_id="751").values_list(
            "value", flat=True
        )[:500]
    )
    if not senders:
        raise SystemExit("no verified e-mail in caisse 751: seed more persons")
    suggest_motive(
        subject="warm-up", body="carte vitale"
    )  # the classifier's model, trained once, then a file
    pdf = _pdf()
    per_text = emails * 2 // 5
    plan = {1: per_text, 2: per_text, 3: emails - 2 * per_text}
    batches = {client: _messages(client, count, senders, pdf) for client, count in plan.items()}
    sizes = [len(d) for _s, d in batches[1] + batches[2]]
    if profile:
        _profile(batches, profile)
    if smtp_only:
        _smtp_only(batches)
    postmaster = _postmaster()
    before = Message.objects.count()  # the profile's e-mails
    connections.close_all()  # the clients are forked: no database connection crosses
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    clients = [
        context.Process(target=_client, args=(port, batches[c], start, results, per_client)) for c in plan
    ]
    for process in clients:
        process.start()

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "omniguichet.cli",
            "mailin",
            "--port",
            str(port),
            "--processes",
            str(processes),
        ],
        stdout=subprocess.DEVNULL,
    )
    _wait_for(port)
    time.sleep(1.0)  # every server process up (the probe reached one)
    server_pids = _tree(server.pid)
    pg_pids = _tree(postmaster) if postmaster else []
    server0 = {pid: _cpu_seconds(pid) for pid in server_pids}
    pg0 = sum(_cpu_seconds(pid) for pid in pg_pids)
    load0 = os.getloadavg()[0]
    # The readiness probes above are sessions without mail: nothing stored.
    began = time.perf_counter()
    start.set()
    outcomes = [results.get(timeout=3600) for _ in clients]
    elapsed = time.perf_counter() - began
    per_server = {pid: _cpu_seconds(pid) - cpu for pid, cpu in server0.items()}
    server_cpu = sum(per_server.values())
    pg_cpu = sum(_cpu_seconds(pid) for pid in (_tree(postmaster) if postmaster else [])) - pg0
    # backends that ended during the run were reaped by the postmaster: counted in its cutime/cstime
    for process in clients:
        process.join()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    stored = Message.objects.count() - before
    rate = stored / elapsed
    durations = [d for _e, ds, _b, _c in outcomes for d in ds]
    p50, _p95, p99 = _ms(durations)
    megabytes = sum(b for _e, _d, b, _c in outcomes) / 1e6
    client_cpu = sum(c for _e, _d, _b, c in outcomes)
    print(
        f"  text e-mails {min(sizes) / 1000:.0f}-{max(sizes) / 1000:.0f} KB (mean {sum(sizes) / len(sizes) / 1000:.0f}"
        f" KB) from clients 1 and 2, {plan[3]} with a {len(pdf) / 1000:.1f} KB PDF from client 3; "
        f"{megabytes:.0f} MB in all"
    )
    print(
        f"  stored {stored:,} e-mails in {Thread.objects.count():,} threads "
        f"({Thread.objects.filter(person__isnull=True).count():,} to identify), {Attachment.objects.count():,} files"
    )
    print(f"  e-mails through SMTP, parsed, matched, stored: {rate:6.0f} /s  ({elapsed:.1f} s; per e-mail as the "
          f"client sees it p50 {p50:.1f} ms, p99 {p99:.1f} ms)")  # fmt: skip
    print(f"  load average {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    for name, cpu in (("mailin", server_cpu), ("postgres", pg_cpu), ("clients", client_cpu)):
        print(f"    CPU {name:<9} {cpu:7.2f} s = {1000 * cpu / max(stored, 1):6.3f} ms per e-mail "
              f"({100 * cpu / elapsed:5.1f} % of one core)")  # fmt: skip
    print("    CPU of each mailin process (how the kernel shared the connections out): "
          + ", ".join(f"{cpu:.1f} s" for cpu in sorted(per_server.values(), reverse=True)))  # fmt: skip
    side = (server_cpu + pg_cpu) / max(stored, 1)
    print(f"    mailin + PostgreSQL: {1000 * side:.2f} ms of CPU per e-mail: {TARGET_PER_SECOND:,.0f}/s need "
          f"{TARGET_PER_SECOND * side:.2f} cores without the clients")  # fmt: skip
    print(f"  target ≥ {TARGET_PER_SECOND:,.0f}/s on PostgreSQL: {_verdict(rate >= TARGET_PER_SECOND)}")
    if stored != emails:
        raise SystemExit(f"{emails - stored} e-mails not stored")


if __name__ == "__main__":
    main()
