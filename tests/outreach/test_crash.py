"""The reliability promise: SIGKILL the real worker in the middle of sending, start it again, and every message is
delivered exactly once to the sink (by idempotency key): no loss, no duplicate."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

MESSAGES = 10_000  # as the issue says
PERSONS = 100

SETUP = f"""
import datetime as dt
from django.utils import timezone
from omniguichet.core.actors import Actor, Channel
from omniguichet.outreach.services import Planned, write_ledger
from omniguichet.referential.models import ContactPoint
from omniguichet.referential.services import create_person
from omniguichet.referential.validators import compose_nir

daytime = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
for p in range({PERSONS}):
    person = create_person(
        actor=Actor.system(), channel=Channel.BACKOFFICE, nir=compose_nir(sex="F", birth_date=dt.date(1980, 1, 1),
        birth_place="75056", order=p + 1), given_names="Anne", family_name="Crash", birth_date=dt.date(1980, 1, 1),
        sex="F", birth_place="75056", caisse_code="751")
    ContactPoint.objects.create(person=person, kind="mobile", value=f"+3361234{{p:04d}}", verified=True,
                                verified_at=timezone.now())
    # The ledger rows send_to_person would write, written by the batch of each person (faster to set up).
    write_ledger([Planned(key=f"send:crash-{{p}}-{{i}}", person=person, subject="S", body="B", sms_body="S",
                          at=daytime, policy="sms") for i in range({MESSAGES // PERSONS})])
"""


def _database_url(tmp_path: Path) -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        return (
            f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT'] or 5432}"
            f"/{settings['NAME']}"
        )
    return f"sqlite:///{tmp_path / 'crash.sqlite3'}"


def _count(url: str, sql: str) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=20) as db:
            return db.execute(sql).fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _queued(url: str) -> int:
    return _count(url, "SELECT COUNT(*) FROM outreach_outboundmessage WHERE state = 'queued'")


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigkill_in_the_middle_loses_nothing_and_doubles_nothing(tmp_path):
    url = _database_url(tmp_path)
    env = {
        **os.environ, "DATABASE_URL": url, "OMNIGUICHET_VAR_DIR": str(tmp_path / "var"),
        "OUTREACH_OUTBOX_DIR": str(tmp_path / "outbox"), "OUTREACH_SMS_PROVIDER": "file",
        "OUTREACH_SMS_DAILY_CAP": "1000000", "OUTREACH_CLAIM_SECONDS": "2", "OUTREACH_SWEEP_SECONDS": "0.5",
        "OUTREACH_DISPATCH_BATCH": "250", "LANGUAGE_CODE": "en",
        # The SMS are planned in the daytime; the worker sends them whatever the time of day the test runs at.
        "OUTREACH_SMS_QUIET_FROM": "24", "OUTREACH_SMS_QUIET_UNTIL": "0",
    }  # fmt: skip
    command = [sys.executable, "-m", "omniguichet.cli"]
    if url.startswith("sqlite"):
        subprocess.run([*command, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*command, "shell", "-c", SETUP], env=env, check=True)
    assert _queued(url) == MESSAGES
    sink = tmp_path / "outbox" / "sms.jsonl"

    worker = subprocess.Popen([*command, "worker", "--interval", "0.1"], env=env)
    try:
        deadline = time.monotonic() + 180
        while _lines(sink) < MESSAGES // 4 and time.monotonic() < deadline:
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    at_kill = _lines(sink)
    assert 0 < at_kill < MESSAGES, "the worker was not killed in the middle of the batch"
    assert _queued(url) > 0

    worker = subprocess.Popen([*command, "worker", "--interval", "0.1"], env=env)
    try:
        deadline = time.monotonic() + 600
        while _queued(url) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert _queued(url) == 0
    keys = [json.loads(line)["key"] for line in sink.read_text().splitlines()]
    assert len(keys) == MESSAGES
    assert len(set(keys)) == MESSAGES
    # The ledger says sent once each, and the customer record has one outbound contact per message.
    assert _count(url, "SELECT COUNT(*) FROM outreach_outboundmessage WHERE state = 'sent'") == MESSAGES
    assert _count(url, "SELECT COUNT(*) FROM crm_contact WHERE source = 'outreach'") == MESSAGES
    assert set(keys) == {
        f"send:crash-{p}-{i}:sms" for p in range(PERSONS) for i in range(MESSAGES // PERSONS)
    }
