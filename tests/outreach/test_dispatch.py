import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from omniguichet.cases.models import RequestedDocument
from omniguichet.cases.services import ingest_case_events
from omniguichet.cases.services.messages import send_document_reminders
from omniguichet.core.actors import Actor
from omniguichet.crm.models import Contact
from omniguichet.outreach.models import InboxMessage, OutboundMessage
from omniguichet.outreach.services import (
    FileSink,
    dispatch_due,
    drain,
    send_to_person,
)
from tests.cases.conftest import event, opened

SYSTEM = Actor.system("test")
# SMS go out between 08:00 and 20:00 Paris time: tests that send one now plan it at a past daytime moment.
DAYTIME = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)


def sink_lines(outbox, name="sms"):
    path = outbox / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_payment_event_sends_an_sms_in_french(mobile_only, _outbox, no_quiet_hours):
    ingest_case_events(actor=SYSTEM, rows=[
        opened("IJ-P", mobile_only),
        event("IJ-P", 2, "payment", {"amount": "1234.5", "paid_on": "2026-03-03"}),
    ], source="t")  # fmt: skip
    messages = {m.rule: m for m in OutboundMessage.objects.all()}
    assert set(messages) == {"case-opened", "payment-made"}
    payment = messages["payment-made"]
    assert payment.channel == "sms" and payment.recipient == "+33612345678"
    assert "paiement de 1\u00a0234,50\u00a0€ effectué le 3 mars 2026" in payment.body
    assert payment.subject_kind == "case" and payment.motive == "ij_suivi"
    from omniguichet.cases.models import Case, CaseEvent
    from omniguichet.cases.services.messages import event_context

    ctx = event_context(
        CaseEvent.objects.get(case__reference="IJ-P", sequence=2), Case.objects.get(reference="IJ-P")
    )
    assert (
        ctx["caisse_name"] == "CPAM de Paris"
        and ctx["first_name"] == "Paul"
        and ctx["amount"] == "1\u00a0234,50\u00a0€"
    )
    # Written queued, before any send; sending happens in the dispatcher.
    assert payment.state == "queued"
    payment.not_before = timezone.now()
    payment.save()
    OutboundMessage.objects.exclude(pk=payment.pk).update(state="failed")
    report = dispatch_due()
    assert report.sent == 1
    payment.refresh_from_db()
    assert payment.state == "sent" and payment.sent_at is not None
    [line] = sink_lines(_outbox)
    assert line["key"] == payment.idempotency_key and line["to"] == "+33612345678"
    contact = Contact.objects.get(source="outreach", external_id=f"msg-{payment.pk}")
    assert (contact.channel, contact.direction, contact.motive_id) == ("sms", "outbound", "ij_suivi")
    assert (contact.subject_kind, contact.subject_ref) == ("message", str(payment.pk))


def test_old_events_move_the_case_but_send_nothing(mobile_only):
    long_ago = timezone.now() - dt.timedelta(days=200)
    ingest_case_events(actor=SYSTEM, rows=[opened("OLD", mobile_only) | {"occurred_at": long_ago.isoformat()}],
                       source="t")  # fmt: skip
    assert not OutboundMessage.objects.exists()


def test_inbox_and_push_for_a_person_with_an_account(with_account, _outbox):
    ingest_case_events(actor=SYSTEM, rows=[opened("CSS-I", with_account, case_type="css")], source="t")
    assert sorted(OutboundMessage.objects.values_list("channel", flat=True)) == ["inbox", "push"]
    drain()
    inbox = InboxMessage.objects.get(person=with_account)
    assert inbox.subject.startswith("Votre demande CSS-I est enregistrée")
    assert OutboundMessage.objects.get(channel="inbox").state == "delivered"
    assert OutboundMessage.objects.get(channel="push").state == "sent"
    assert len(sink_lines(_outbox, "push")) == 1
    assert Contact.objects.filter(person=with_account, direction="outbound").count() == 2


def test_the_file_sink_keeps_one_copy_of_a_key(mobile_only, _outbox):
    [message] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="once", subject="S", body="B",
                               at=DAYTIME)  # fmt: skip
    FileSink("sms").send([message])
    FileSink.forget()  # another process: reads the file again
    FileSink("sms").send([message])
    # A line torn by a crash is cut off, and the message is written again whole.
    path = _outbox / "sms.jsonl"
    path.write_text(path.read_text() + '{"key": "torn", "te')
    FileSink.forget()
    FileSink("sms").send([message])
    assert [line["key"] for line in sink_lines(_outbox)] == ["send:once:sms"]


class Recorder:
    def __init__(self, refuse: str = ""):
        self.messages: list = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    handler = Recorder(refuse="gone@example.org")
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield handler
    controller.stop()


def test_email_over_real_smtp(mobile_only, smtp, make_person):
    [message] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="mail-1", subject="Votre dossier",
                               body="Bonjour {first_name}", channel_policy="email")  # fmt: skip
    assert drain().sent == 1
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["paul.martin@example.org"]
    content = envelope.content.decode()
    assert "Subject: Votre dossier" in content and "Bonjour Paul" in content
    assert "send.mail-1.email@omniguichet.example" in content  # Message-ID from the idempotency key
    message.refresh_from_db()
    assert message.state == "sent" and message.provider_ref.startswith("<send.mail-1")


def test_a_refused_address_fails_for_good(make_person, smtp):
    from omniguichet.referential.models import ContactPoint

    person = make_person()
    ContactPoint.objects.create(person=person, kind="email", value="gone@example.org", verified=True,
                                verified_at=timezone.now())  # fmt: skip
    [message] = send_to_person(actor=SYSTEM, person=person, idempotency_key="gone", subject="S", body="B",
                               channel_policy="email")  # fmt: skip
    assert drain().failed == 1
    message.refresh_from_db()
    assert message.state == "failed" and "refused" in message.last_error
    assert not Contact.objects.filter(source="outreach").exists()


def test_smtp_down_is_retried_with_backoff(mobile_only, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        9,
        2,
    )  # nothing listens there
    [message] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="down", subject="S", body="B",
                               channel_policy="email")  # fmt: skip
    before = timezone.now()
    assert dispatch_due().retried == 1
    message.refresh_from_db()
    assert message.state == "queued" and message.attempts == 1
    assert message.not_before >= before + dt.timedelta(seconds=59)
    assert dispatch_due().retried == 0  # not due yet
    message.not_before = timezone.now()
    message.save()
    dispatch_due()
    message.refresh_from_db()
    assert message.attempts == 2 and message.not_before >= timezone.now() + dt.timedelta(seconds=110)


@pytest.fixture
def sms_provider(settings):
    """A stand-in for the remote SMS provider: a real HTTP server; our code path up to the call is real."""
    calls: list = []
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append((dict(self.headers), body))
            self.send_response(status["code"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"id": f"prov-{len(calls)}"}).encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.OUTREACH_SMS_PROVIDER = "http"
    settings.OUTREACH_SMS_URL = f"http://127.0.0.1:{server.server_port}/sms"
    settings.OUTREACH_SMS_TOKEN = "secret-token"
    yield calls, status
    server.shutdown()


def test_sms_through_the_http_provider(mobile_only, sms_provider, no_quiet_hours):
    calls, status = sms_provider
    [message] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="h1", subject="Salut", body="B",
                               at=DAYTIME)  # fmt: skip
    status["code"] = 503
    assert dispatch_due().retried == 1
    message.refresh_from_db()
    message.not_before = timezone.now()
    message.save()
    status["code"] = 200
    assert dispatch_due().sent == 1
    message.refresh_from_db()
    assert message.state == "sent" and message.provider_ref == "prov-2"
    headers, body = calls[-1]
    assert headers["Idempotency-Key"] == "send:h1:sms" and headers["Authorization"] == "Bearer secret-token"
    assert body == {"to": "+33612345678", "text": "Salut", "reference": "send:h1:sms"}
    [_other] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="h2", subject="X", body="B",
                             at=DAYTIME)  # fmt: skip
    status["code"] = 400
    assert dispatch_due().failed == 1


def test_document_missing_reminder_after_seven_days(mobile_only):
    old = timezone.now() - dt.timedelta(days=8)
    ingest_case_events(actor=SYSTEM, rows=[
        opened("IJ-D", mobile_only, ) | {"occurred_at": (old - dt.timedelta(hours=1)).isoformat()},
        event("IJ-D", 2, "document_missing", {"document": "rib", "label": "votre RIB"}, occurred_at=old),
        opened("IJ-E", mobile_only), event("IJ-E", 2, "document_missing", {"document": "rib", "label": "RIB"}),
    ], source="t")  # fmt: skip
    assert send_document_reminders() == 1
    [reminder] = OutboundMessage.objects.filter(idempotency_key__startswith="reminder:")
    assert "rappel : votre RIB manque toujours" in reminder.body
    assert "/compte/dossiers/IJ-D/pieces/rib" in reminder.body
    assert send_document_reminders() == 0  # once
    # Nothing deposited is the condition: a received document is not reminded.
    ingest_case_events(
        actor=SYSTEM, rows=[event("IJ-E", 3, "document_received", {"document": "rib"})], source="t"
    )
    RequestedDocument.objects.filter(case__reference="IJ-E").update(requested_at=old)
    assert send_document_reminders() == 0


def test_the_inbox_keeps_one_copy_of_a_key(with_account):
    from omniguichet.outreach.services import InboxProvider

    [message] = send_to_person(actor=SYSTEM, person=with_account, idempotency_key="i1", subject="S", body="B",
                               channel_policy="inbox")  # fmt: skip
    # Sent, then sent again after a crash before the ledger was updated: the account shows it once.
    for _attempt in range(2):
        assert InboxProvider().send([message])[message.pk].delivered
    [inbox] = InboxMessage.objects.filter(person=with_account)
    assert (inbox.idempotency_key, inbox.subject, inbox.body, inbox.read_at) == (
        "send:i1:inbox",
        "S",
        "B",
        None,
    )
