"""The ledger's crash test on the Redis task queue, over real SMTP: a worker on Redis is killed with SIGKILL (with
its work horse and scheduler: a lost machine) in the middle of sending e-mails to an aiosmtpd server; two other
workers finish. Every message reaches the SMTP server, none is lost; none is sent twice by the ledger (one `sent`
row, one contact each); the messages that were on the wire when the worker died go out again with the same
Message-ID (the idempotency key), which the receiver drops, as the file sink drops a key it has."""

import email.parser
import os
import socket
import subprocess
import threading
import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from tests.outreach.test_crash import _count, _database_url, _queued
from tests.processes import ENTRY, horse, kill_session, start_workers, stop

MESSAGES = 5_000
BATCH = 100
PERSONS = 100
DOMAIN = "omniguichet.example"

SETUP = f"""
import datetime as dt
from django.utils import timezone
from omniguichet.core.actors import Actor, Channel
from omniguichet.outreach.services import Planned, write_ledger
from omniguichet.referential.models import ContactPoint
from omniguichet.referential.services import create_person
from omniguichet.referential.validators import compose_nir

for p in range({PERSONS}):
    person = create_person(
        actor=Actor.system(), channel=Channel.BACKOFFICE, nir=compose_nir(sex="F", birth_date=dt.date(1980, 1, 1),
        birth_place="75056", order=p + 1), given_names="Anne", family_name="Crash", birth_date=dt.date(1980, 1, 1),
        sex="F", birth_place="75056", caisse_code="751")
    ContactPoint.objects.create(person=person, kind="email", value=f"anne.crash{{p}}@example.org", verified=True,
                                verified_at=timezone.now())
    write_ledger([Planned(key=f"send:crash-{{p}}-{{i}}", person=person, subject="S", body="B", sms_body="S",
                          at=timezone.now(), policy="email") for i in range({MESSAGES // PERSONS})])
"""


class MessageIds:
    """The SMTP server's handler: accepts every message and notes its Message-ID."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        with self.lock:
            self.received.append(str(headers["Message-ID"]))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture
def smtp_server():
    handler = MessageIds()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _wip(redis_url: str) -> int:
    """Jobs RQ holds as started (its StartedJobRegistry)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.zcard("rq:wip:default"))
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigkill_on_redis_loses_nothing_and_sends_nothing_twice(tmp_path, redis_url, smtp_server):
    handler, port = smtp_server
    url = _database_url(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DATABASE_URL": url, "OMNIGUICHET_VAR_DIR": str(tmp_path / "var"), "LANGUAGE_CODE": "en",
        "OMNIGUICHET_TASK_QUEUE": "redis", "REDIS_URL": redis_url, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
        # A claim outlives the sending of its batch of 100 e-mails even on a very busy machine (else another
        # worker takes the batch while it is still being sent, and sends it again: the ledger does not renew its
        # claims).
        "OUTREACH_CLAIM_SECONDS": "20", "OUTREACH_SWEEP_SECONDS": "0.5", "OUTREACH_DISPATCH_BATCH": str(BATCH),
        # The RQ job of the killed worker: its lease lost after 3 s, looked for every second.
        "OMNIGUICHET_WORKER_HEARTBEAT_SECONDS": "1", "OMNIGUICHET_WORKER_LEASE_SECONDS": "3",
        "OMNIGUICHET_RQ_MAINTENANCE_SECONDS": "1",
    }  # fmt: skip
    if url.startswith("sqlite"):
        subprocess.run([*ENTRY, "migrate", "-v0"], env=env, check=True, timeout=300)
    # The ledger is written with no worker running: its dispatch tasks wait in Redis.
    subprocess.run([*ENTRY, "shell", "-c", SETUP], env=env, check=True, timeout=600)
    assert _queued(url) == MESSAGES

    started = time.monotonic()
    [first] = start_workers(env, 1)
    others = []
    try:
        deadline = time.monotonic() + 180
        while handler.count() < MESSAGES // 4 and time.monotonic() < deadline:
            time.sleep(0.005)
        horse(first)  # it is running a job: the dispatch
        kill_session(first)
        at_kill = handler.count()
        assert 0 < at_kill < MESSAGES, "the worker was not killed in the middle of the sending"
        assert _queued(url) > 0
        others = start_workers(env, 2)
        deadline = time.monotonic() + 600
        while (_queued(url) or _wip(redis_url)) and time.monotonic() < deadline:
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        stop([first, *others])
    assert _queued(url) == 0
    assert _wip(redis_url) == 0  # no job left "running" on the dead worker
    expected = {
        f"<send.crash-{p}-{i}.email@{DOMAIN}>" for p in range(PERSONS) for i in range(MESSAGES // PERSONS)
    }
    counts = Counter(handler.received)
    assert set(counts) == expected  # none lost, none foreign
    # The ledger sent each once: one `sent` row and one contact in the customer record per message.
    assert _count(url, "SELECT COUNT(*) FROM outreach_outboundmessage WHERE state = 'sent'") == MESSAGES
    assert _count(url, "SELECT COUNT(*) FROM crm_contact WHERE source = 'outreach'") == MESSAGES
    resent = sum(n - 1 for n in counts.values())
    # Only what was on the wire when the worker died goes out again: at most one dispatch batch.
    assert resent <= BATCH, resent
    print(
        f"\nworker crash test on Redis ({connection_vendor(url)}, SMTP): {MESSAGES} messages, "
        f"{len(expected - set(counts))} lost, 0 duplicated by the ledger; killed at {at_kill} received, "
        f"{resent} re-sent with the same Message-ID; {elapsed:.1f} s"
    )


def connection_vendor(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"
