"""Request ids on log lines and in tasks, personal data masked in logs, /metrics restricted and filled."""

import json
import logging

import pytest
from django.test import Client

from omniguichet.core import observability
from omniguichet.core.models import TaskOrigin


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("person 2 84 12 75 056 001 30 not found", "person [NIR] not found"),
        ("nir=284127505600130", "nir=[NIR]"),
        ("NIR 1840275056001", "NIR [NIR]"),
        ("mail claire.martin@example.fr bounced", "mail [e-mail] bounced"),
        ("call 06 12 34 56 78 or +33612345678", "call [phone] or [phone]"),
        ("3 contacts in 12 ms, request 42", "3 contacts in 12 ms, request 42"),
    ],
)
def test_personal_data_is_masked(text, masked):
    assert observability.redact(text) == masked


def _record(msg, *args):
    return logging.LogRecord("omniguichet.test", logging.WARNING, __file__, 1, msg, args, None)


def test_json_line_with_the_request_id_and_no_personal_data():
    token = observability.request_id_var.set("req-12345678")
    try:
        record = _record("login failed for %s", "2 84 12 75 056 001 30")
        assert observability.RequestIdFilter().filter(record)
        line = json.loads(observability.JsonFormatter().format(record))
    finally:
        observability.request_id_var.reset(token)
    assert line["request_id"] == "req-12345678" and line["level"] == "WARNING"
    assert line["message"] == "login failed for [NIR]"


def test_every_response_carries_a_request_id(db):
    response = Client().get("/healthz")
    generated = response["X-Request-ID"]
    assert len(generated) == 32
    assert Client().get("/healthz", HTTP_X_REQUEST_ID="proxy-abc-123")["X-Request-ID"] == "proxy-abc-123"
    # Not a plain token: replaced, never echoed (no header injection, no personal data carried over).
    assert Client().get("/healthz", HTTP_X_REQUEST_ID="a b<script>")["X-Request-ID"] != "a b<script>"


def test_a_task_carries_the_request_id_into_the_worker(db):
    class Result:
        id = "5b0c6a1e-0000-4000-8000-000000000001"

    token = observability.request_id_var.set("req-origin-1")
    try:
        observability.remember_task_origin(None, Result())
    finally:
        observability.request_id_var.reset(token)
    assert TaskOrigin.objects.get(task_id=Result.id).request_id == "req-origin-1"
    observability.adopt_task_origin(None, Result())  # in the worker
    assert observability.current_request_id() == "req-origin-1"
    observability.forget_task_origin(None, Result())
    assert not TaskOrigin.objects.exists() and observability.current_request_id() == ""


def test_a_real_enqueue_remembers_its_origin(db, settings):
    """Through django-tasks' own signal: the task enqueued during a request gets that request's id."""
    from omniguichet.outreach.tasks import dispatch_messages

    token = observability.request_id_var.set("req-enqueue-1")
    try:
        result = dispatch_messages.enqueue()
    finally:
        observability.request_id_var.reset(token)
    assert TaskOrigin.objects.get(task_id=str(result.id)).request_id == "req-enqueue-1"


def test_metrics_are_restricted_and_filled(db, settings, insured_person_with_thread):
    settings.OMNIGUICHET_METRICS_NETWORKS = ["10.0.0.0/8"]
    settings.OMNIGUICHET_METRICS_TOKEN = "s3cret-token"
    Client().get("/healthz")
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert 'omniguichet_http_requests_total{method="GET",status="200",view="healthz"}' in body
    assert 'omniguichet_http_request_seconds_bucket{le="0.005",view="healthz"}' in body
    assert "omniguichet_task_queue_depth" in body
    assert 'omniguichet_messages_overdue{caisse="751"} 1.0' in body
    settings.OMNIGUICHET_METRICS_NETWORKS = ["127.0.0.1/32"]
    assert Client().get("/metrics").status_code == 200  # the test client's address is 127.0.0.1


@pytest.fixture
def insured_person_with_thread(make_person):
    import datetime as dt

    from django.utils import timezone

    from omniguichet.crm.models import Motive
    from omniguichet.messaging.models import Thread

    person = make_person()
    now = timezone.now()
    Thread.objects.create(
        person=person, caisse_id="751", motive=Motive.objects.get(pk="autre"), subject="x", opened_at=now,
        last_message_at=now, waiting_since=now - dt.timedelta(days=3), deadline=now - dt.timedelta(days=1),
    )  # fmt: skip
    return person


def test_the_log_scan_finds_a_nir_and_nothing_else():
    from tests.log_scan import nir_shaped

    lines = [
        '{"message": "person 2 84 12 75 056 001 30 not found"}',
        '{"message": "nir 284127505600130"}',
        '{"message": "nir 284127505600199"}',  # wrong key: not a NIR
        '{"message": "took 1764830000123 ms"}',
        '{"message": "token 5b0c6a1e284127505600130f"}',  # inside a longer token
    ]
    assert nir_shaped(lines) == [lines[0], lines[1]]


def test_the_run_s_logs_are_being_written(caplog):
    """The scan at the end of the run reads what this process logs (the file exists and grows)."""
    import os
    from pathlib import Path

    from tests.log_scan import LOG_DIR_VARIABLE

    directory = Path(os.environ[LOG_DIR_VARIABLE])
    logging.getLogger("omniguichet.test").warning("a line for the scan of %s", "2 84 12 75 056 001 30")
    written = "".join(p.read_text() for p in directory.glob("*.log"))
    assert "a line for the scan of [NIR]" in written and "056 001 30" not in written
