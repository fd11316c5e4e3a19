"""E-mail received by the platform: real SMTP sessions (smtplib) against the mailin server started in the test,
the acknowledgement, the notice of refused files and the agent's answer checked on a real SMTP server (aiosmtpd)."""

import datetime as dt
import smtplib
import socket
import time
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from omniguichet.crm.models import Contact, RecordAccess
from omniguichet.messaging.models import Message, Thread
from omniguichet.messaging.services import after_receipt, receive_email
from omniguichet.messaging.services.smtpserver import make_controller
from omniguichet.referential.models import ContactPoint
from tests.crm.conftest import client_for
from tests.documents.conftest import make_pdf
from tests.messaging.conftest import logged

ADDRESS = "751@courriel.example"
SENDER = "claire.martin@example.org"
pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """The outside world's mail server: what the platform sends lands here."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"

    def wait(self, count: int, timeout: float = 10.0) -> list:
        end = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def outbox(settings):
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield handler
    controller.stop()


@pytest.fixture
def mailin(outbox, settings):
    """The mailin SMTP server on a free port; yields a function sending one message through it."""
    settings.OMNIGUICHET_MAILIN_MAX_BYTES = 200_000
    controller = make_controller(port=free_port())
    controller.start()

    def send(message, rcpt=ADDRESS, sender=SENDER):
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as client:
            data = message if isinstance(message, bytes) else message.as_bytes(policy=SMTP)
            return client.sendmail(sender, [rcpt], data)

    send.port = controller.port
    yield send
    controller.stop()
    controller.handler.close()


@pytest.fixture
def verified(make_person):
    person = make_person(family_name="Martin", given_names="Claire")
    ContactPoint.objects.create(
        person=person, kind="email", value=SENDER, verified=True, verified_at=timezone.now()
    )
    return person


def mail(
    body="Bonjour, ma carte vitale est perdue.",
    *,
    subject="Carte vitale",
    sender=SENDER,
    msgid=None,
    **headers,
):
    message = EmailMessage()
    message["From"] = f"Claire Martin <{sender}>"
    message["To"] = ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = msgid or f"<{time.monotonic_ns()}@example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


# --- over SMTP ---------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_verified_sender_over_smtp_gets_a_thread_and_an_acknowledgement(mailin, outbox, verified):
    mailin(mail(msgid="<first@example.org>"))
    thread = Thread.objects.get()
    assert thread.channel == "email" and thread.person == verified and thread.caisse_id == "751"
    assert thread.sender_address == SENDER and thread.email_ref == "<first@example.org>"
    assert thread.deadline is not None and thread.status == "waiting"
    assert thread.suggested_motive == "carte_vitale" and thread.suggestion_confidence > 0
    contact = Contact.objects.get(person=verified)
    assert (contact.channel, contact.direction, contact.subject_kind) == ("email", "inbound", "message")
    [ack] = outbox.wait(1)
    assert ack.rcpt_tos == [SENDER]
    text = ack.content.decode()
    assert f"Ref. {thread.pk}" in text and "Auto-Submitted: auto-replied" in text
    assert "In-Reply-To: <first@example.org>" in text and "/compte/messages/" in text
    assert "Claire" not in text and "Martin" not in text  # nothing personal, ever


@pytest.mark.django_db(transaction=True)
def test_unknown_recipient_is_refused_at_rcpt(mailin):
    for rcpt in ("999@courriel.example", "751@elsewhere.example", "postmaster@courriel.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            mailin(mail(), rcpt=rcpt)
        assert refused.value.recipients[rcpt][0] == 550
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_over_the_size_limit_is_refused_with_552(mailin):
    with pytest.raises(smtplib.SMTPException) as refused:
        mailin(mail("x" * 300_000))
    assert "552" in str(refused.value)
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\nContent-Type: text/plain"
         b"\r\n\r\nhi\r\n", 554, b"malformed MIME"),
        (b"From: a@example.org\r\nContent-Type: text/plain; charset=klingon\r\n\r\nhello\r\n", 554, b"charset"),
        (b"From: a@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbad \xff\xfe\r\n", 554, b"charset"),
        (b"To: 751@courriel.example\r\nSubject: hi\r\n\r\nhello\r\n", 550, b"no From"),
        (b"From: a@example.org\r\nSubject: hi\r\n\r\n\r\n", 554, b"empty"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_nothing_stored(mailin, data, code, reason):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mailin(data)
    assert refused.value.smtp_code == code and reason in refused.value.smtp_error
    assert not Thread.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_message_id_twice_is_stored_once(mailin, verified):
    mailin(mail(msgid="<again@example.org>"))
    mailin(mail(msgid="<again@example.org>"))
    assert Message.objects.count() == 1 and Contact.objects.filter(person=verified).count() == 1


# --- matching, threading -------------------------------------------------------------------------------------------
def test_an_unverified_address_does_not_match(make_person, agent_paris):
    person = make_person()
    ContactPoint.objects.create(person=person, kind="email", value=SENDER, verified=False)
    received = receive_email(caisse_code="751", data=mail().as_bytes())
    thread = received.message.thread
    assert thread.person is None and thread.caisse_id == "751" and not Contact.objects.exists()
    agent = logged(agent_paris)
    assert f"/agent/messages/{thread.pk}/" not in agent.get("/agent/messages/").content.decode()
    listed = agent.get("/agent/messages/?etat=to_identify").content.decode()
    assert f"/agent/messages/{thread.pk}/" in listed and SENDER in listed


def test_replies_join_their_thread_by_headers_or_subject_reference(verified):
    first = receive_email(caisse_code="751", data=mail(msgid="<one@example.org>").as_bytes()).message
    thread = first.thread
    by_header = receive_email(
        caisse_code="751", data=mail(In_Reply_To="<one@example.org>").as_bytes()
    ).message
    by_references = receive_email(
        caisse_code="751", data=mail(References="<zz@example.org> <one@example.org>").as_bytes()
    ).message
    by_subject = receive_email(
        caisse_code="751", data=mail(subject=f"Re: Carte vitale [Réf. {thread.pk}]").as_bytes()
    ).message
    assert by_header.thread_id == by_references.thread_id == by_subject.thread_id == thread.pk
    # Someone else naming the thread does not get into it.
    intruder = receive_email(
        caisse_code="751",
        data=mail(sender="other@example.org", In_Reply_To="<one@example.org>", subject=f"[Réf. {thread.pk}]")
        .as_bytes(),
    ).message  # fmt: skip
    assert intruder.thread_id != thread.pk and intruder.thread.person is None


# --- sanitising, files ------------------------------------------------------------------------------------------
def test_html_is_sanitised(agent_paris, verified):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, ADDRESS, "HTML"
    message.set_content(
        '<p>Bonjour <script>alert("x")</script><img src="http://tracker.example/p.png" onerror="steal()">'
        '<a href="javascript:alert(1)" onclick="x()">ici</a><style>body{}</style></p>',
        subtype="html",
    )
    stored = receive_email(caisse_code="751", data=message.as_bytes()).message
    for bad in ("<script", "alert", "onerror", "<img", "tracker.example", "javascript:", "onclick", "<style"):
        assert bad not in stored.html
    assert stored.body == "Bonjour ici"  # no text part: the sanitised HTML's text
    page = logged(agent_paris).get(f"/agent/messages/{stored.thread_id}/").content.decode()
    assert "tracker.example" not in page and "steal()" not in page


def test_a_refused_file_is_noted_and_a_verified_sender_told(outbox, verified, agent_paris):
    message = mail("Voici mes pièces.")
    message.add_attachment(make_pdf(), maintype="application", subtype="pdf", filename="releve.pdf")
    message.add_attachment(b"MZ\x90\x00 not a document", maintype="application", subtype="octet-stream",
                           filename="virus.exe")  # fmt: skip
    received = receive_email(caisse_code="751", data=message.as_bytes())
    stored = received.message
    assert [a.name for a in stored.attachments.all()] == ["releve.pdf"]
    assert [f["name"] for f in stored.refused_files] == ["virus.exe"] and stored.refused_files[0]["reason"]
    assert received.tell_refused
    after_receipt(received)
    sent = outbox.wait(2)
    notice = next(e for e in sent if b"virus.exe" in e.content)
    assert notice.rcpt_tos == [SENDER]
    page = logged(agent_paris).get(f"/agent/messages/{stored.thread_id}/").content.decode()
    assert "virus.exe" in page


def test_an_unknown_sender_is_not_told_about_files(outbox):
    message = mail("Pièce", sender="stranger@example.org")
    message.add_attachment(b"PK\x03\x04zip", maintype="application", subtype="zip", filename="a.zip")
    received = receive_email(caisse_code="751", data=message.as_bytes())
    assert received.message.refused_files and not received.tell_refused
    after_receipt(received)
    [ack] = outbox.wait(1)
    assert b"a.zip" not in ack.content


# --- loops and floods -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"List_Id": "<news.example.org>"},
     {"List_Unsubscribe": "<mailto:u@example.org>"}],
)  # fmt: skip
def test_no_acknowledgement_to_robots_and_lists(headers):
    received = receive_email(caisse_code="751", data=mail(**headers).as_bytes())
    assert not received.acknowledge and received.message.acknowledged_at is None


def test_acknowledged_at_most_once_an_hour():
    assert receive_email(caisse_code="751", data=mail().as_bytes()).acknowledge
    assert not receive_email(caisse_code="751", data=mail().as_bytes()).acknowledge
    assert (
        receive_email(
            caisse_code="751", data=mail(Auto_Submitted="no").as_bytes(), envelope_sender=""
        ).acknowledge
        is False
    )
    assert receive_email(caisse_code="751", data=mail(sender="b@example.org").as_bytes()).acknowledge


# --- agents -------------------------------------------------------------------------------------------------------
def test_attaching_an_unknown_sender(make_person, agent_paris, agent_ain, caisse_ain):
    person = make_person(family_name="Martin", given_names="Claire")
    other = make_person(family_name="Durand", caisse_code=caisse_ain.code)
    thread = receive_email(caisse_code="751", data=mail(sender="new@example.org").as_bytes()).message.thread
    paris, ain = logged(agent_paris), logged(agent_ain)
    page = paris.get(f"/agent/messages/{thread.pk}/?q={person.nir}").content.decode()
    assert "Identify the sender" in page and f"number {person.pk}" in page
    assert "give a NIR" in paris.get(f"/agent/messages/{thread.pk}/?q=Martin").content.decode()
    # Answering before it is attached: refused, nothing written.
    assert paris.post(f"/agent/messages/{thread.pk}/repondre/", {"body": "Bonjour"}).status_code == 409
    # Another caisse's agent does not see it, nor attach it; a person of another caisse is not found.
    assert ain.get(f"/agent/messages/{thread.pk}/").status_code == 404
    assert (
        ain.post(
            f"/agent/messages/{thread.pk}/rattacher/", {"person_id": other.pk, "purpose": "x"}
        ).status_code
        == 404
    )
    assert (
        f"/agent/messages/{thread.pk}/" not in ain.get("/agent/messages/?etat=to_identify").content.decode()
    )
    assert (
        paris.post(
            f"/agent/messages/{thread.pk}/rattacher/", {"person_id": other.pk, "purpose": "Identify"}
        ).status_code
        == 404
    )
    # The purpose is needed.
    assert (
        paris.post(
            f"/agent/messages/{thread.pk}/rattacher/", {"person_id": person.pk, "purpose": ""}
        ).status_code
        == 422
    )
    response = paris.post(
        f"/agent/messages/{thread.pk}/rattacher/", {"person_id": person.pk, "purpose": "Identify the sender"}
    )
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.person == person
    assert RecordAccess.objects.filter(person=person, purpose="Identify the sender").exists()
    assert Contact.objects.filter(person=person, channel="email", direction="inbound").count() == 1
    assert (
        paris.post(
            f"/agent/messages/{thread.pk}/rattacher/", {"person_id": person.pk, "purpose": "again"}
        ).status_code
        == 409
    )


def test_attach_over_the_api_and_the_other_caisse(make_person, agent_paris, agent_ain):
    person = make_person()
    thread = receive_email(caisse_code="751", data=mail(sender="new@example.org").as_bytes()).message.thread
    url = f"/api/v1/messaging/threads/{thread.pk}/attach"
    body = {"person_id": person.pk, "purpose": "Identify the sender"}
    ain = client_for(agent_ain)
    assert ain.post(url, body, content_type="application/json").status_code == 404
    assert ain.get(f"/api/v1/messaging/threads/{thread.pk}").status_code == 404
    assert thread.pk not in [t["id"] for t in ain.get("/api/v1/messaging/threads?status=to_identify").json()]
    paris = client_for(agent_paris)
    assert thread.pk in [t["id"] for t in paris.get("/api/v1/messaging/threads?status=to_identify").json()]
    answer = paris.post(
        f"/api/v1/messaging/threads/{thread.pk}/answer", {"body": "x"}, content_type="application/json"
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"
    response = paris.post(url, body, content_type="application/json")
    assert response.status_code == 200 and response.json()["channel"] == "email"


def test_the_answer_goes_by_smtp_with_threading_headers(outbox, verified, agent_paris):
    first = receive_email(caisse_code="751", data=mail(msgid="<q1@example.org>").as_bytes()).message
    receive_email(
        caisse_code="751", data=mail(msgid="<q2@example.org>", In_Reply_To="<q1@example.org>").as_bytes()
    )
    thread = first.thread
    response = logged(agent_paris).post(
        f"/agent/messages/{thread.pk}/repondre/", {"body": "Votre carte arrive."}
    )
    assert response.status_code == 302
    [sent] = outbox.wait(1)
    text = sent.content.decode()
    assert sent.rcpt_tos == [SENDER] and "Votre carte arrive." in text
    assert "In-Reply-To: <q2@example.org>" in text and "References: <q1@example.org> <q2@example.org>" in text
    answer = Message.objects.get(thread=thread, direction="outbound")
    assert answer.message_id and answer.message_id in text
    assert Contact.objects.filter(person=verified, channel="email", direction="outbound").count() == 1
    inbound = Contact.objects.filter(person=verified, channel="email", direction="inbound")
    assert inbound.count() == 2 and all(c.responded_at is not None for c in inbound)
    thread.refresh_from_db()
    assert thread.status == "answered" and thread.deadline is None


def test_a_refusing_mail_server_leaves_the_answer_unwritten(settings, verified, agent_paris):
    thread = receive_email(caisse_code="751", data=mail().as_bytes()).message.thread
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = client_for(agent_paris).post(f"/api/v1/messaging/threads/{thread.pk}/answer", {"body": "x"},
                                        content_type="application/json")  # fmt: skip
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
    assert not Message.objects.filter(direction="outbound").exists()
    thread.refresh_from_db()
    assert thread.status == "waiting"


def test_an_attached_unverified_sender_is_answered_in_the_account(outbox, make_person, agent_paris):
    person = make_person()
    thread = receive_email(
        caisse_code="751", data=mail(sender="new@example.org", Precedence="bulk").as_bytes()
    ).message.thread
    paris = logged(agent_paris)
    paris.post(
        f"/agent/messages/{thread.pk}/rattacher/", {"person_id": person.pk, "purpose": "Identify the sender"}
    )
    assert (
        paris.post(f"/agent/messages/{thread.pk}/repondre/", {"body": "Votre dossier avance."}).status_code
        == 302
    )
    assert outbox.messages == []  # nothing to the unverified address
    answer = Message.objects.get(thread=thread, direction="outbound")
    assert answer.message_id is None
    assert Contact.objects.filter(person=person, channel="secure_message", direction="outbound").count() == 1
    assert Contact.objects.get(person=person, channel="email", direction="inbound").responded_at is not None


def test_an_email_thread_takes_the_email_deadline_policy(verified):
    """Its deadline and its "due soon" instant come from the policy of the kind "email" on the caisse's calendar,
    like a secure message's from the kind "message" (the queue's due-soon count needs both)."""
    from omniguichet.crm.models import DeadlinePolicy
    from omniguichet.crm.services.deadlines import forget_policies

    DeadlinePolicy.objects.update_or_create(
        kind="email", motive=None, defaults={"duration": 24, "unit": "calendar_hours"}
    )
    forget_policies()
    thread = receive_email(
        caisse_code="751", data=mail(msgid="<policy@example.org>").as_bytes()
    ).message.thread
    assert thread.deadline - thread.waiting_since == dt.timedelta(hours=24)
    assert thread.due_soon_at is not None and thread.waiting_since < thread.due_soon_at < thread.deadline
