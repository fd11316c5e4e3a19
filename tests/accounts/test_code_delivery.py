"""One-time codes go through the outbound message ledger: one channel, the exact target, at once (no quiet hours,
no cap, no preference), written with the code (a rollback sends nothing), and masked in the ledger once served."""

import datetime as dt
import re

import pytest
from django.db import transaction
from django.utils import timezone

from omniguichet.accounts import services
from omniguichet.accounts.models import OneTimeCode
from omniguichet.core.actors import Actor
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.crm.models import Contact
from omniguichet.outreach.models import OutboundMessage
from omniguichet.outreach.services import send_on_request
from omniguichet.referential.models import ChannelPreference, Consent, ContactPoint
from tests.accounts.conftest import PASSWORD, last_code, sent_codes
from tests.outreach.test_dispatch import Recorder, smtp  # noqa: F401  (a real SMTP server)

pytestmark = pytest.mark.django_db
SIX_DIGITS = re.compile(r"\b\d{6}\b")


def _refuse_everything(settings, person):
    """Quiet hours all day, no SMS cap left, every channel refused by preference and consent."""
    settings.OUTREACH_SMS_QUIET_FROM, settings.OUTREACH_SMS_QUIET_UNTIL = 0, 24
    settings.OUTREACH_SMS_DAILY_CAP = 0
    ChannelPreference.objects.create(person=person, sms_allowed=False, email_allowed=False, paper_allowed=False,
                                     e_documents=True, preferred_channel="account")  # fmt: skip
    Consent.objects.create(
        person=person, purpose="proactive_messages", granted=False, channel="web", decided_at=timezone.now()
    )


def test_an_sms_code_goes_at_once_to_the_verified_mobile_only(settings, person):
    _refuse_everything(settings, person)
    before = timezone.now()
    otc = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    [message] = OutboundMessage.objects.filter(person=person)
    assert (message.channel, message.recipient, message.state) == ("sms", "+33698765432", "queued")
    assert message.not_before <= timezone.now() and message.not_before >= before  # not held until 08:00
    assert message.motive == "compte_en_ligne" and message.subject
    [sent] = sent_codes()
    assert (sent["channel"], sent["to"], sent["otc_id"]) == ("sms", "+33698765432", otc.pk)
    message.refresh_from_db()
    assert message.state == "sent"
    # The customer record notes the subject of the message, never the code.
    contact = Contact.objects.get(person=person, source="outreach")
    assert (contact.channel, contact.direction, contact.motive_id) == ("sms", "outbound", "compte_en_ligne")
    assert sent["code"] not in contact.note and not SIX_DIGITS.search(contact.note)


def test_the_activation_letter_goes_to_the_postal_address(person):
    otc = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="letter", channel="web")
    [message] = OutboundMessage.objects.filter(person=person)
    assert (message.channel, message.recipient) == ("letter", otc.target)
    assert "3 rue des Lilas" in message.recipient
    [sent] = sent_codes()
    assert sent["channel"] == "letter" and otc.expires_at.astimezone().strftime("%d/%m/%Y") in sent["text"]
    user = services.complete_activation(
        challenge=otc.challenge, code=sent["code"], password=PASSWORD, password2=PASSWORD, channel="web"
    )
    assert user.username == person.nir


def test_reset_code_by_email_over_real_smtp(person, smtp):  # noqa: F811
    ContactPoint.objects.filter(person=person).delete()
    ContactPoint.objects.create(person=person, kind="email", value="marie@example.org", verified=True,
                                verified_at=timezone.now())  # fmt: skip
    from django.contrib.auth import get_user_model

    from omniguichet.accounts.models import Account

    user = get_user_model().objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    otc = services.start_password_reset(nir=person.nir, birth_date="03/12/1984", channel="web")
    assert OutboundMessage.objects.get(person=person).channel == "email"
    from omniguichet.outreach.services import drain

    assert drain().sent == 1
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["marie@example.org"]
    code = SIX_DIGITS.search(envelope.content.decode().split("\r\n\r\n", 1)[1]).group(0)
    services.complete_password_reset(
        challenge=otc.challenge, code=code, password="Encore-un-autre-42!", password2="Encore-un-autre-42!",
        channel="web",
    )  # fmt: skip
    assert not SIX_DIGITS.search(OutboundMessage.objects.get(person=person).body)  # used: masked


def test_a_contact_change_code_goes_to_the_new_address(person, insured):
    ContactPoint.objects.create(person=person, kind="email", value="old@example.org", verified=True,
                                verified_at=timezone.now())  # fmt: skip
    services.start_contact_change(actor=Actor.system(), channel="web", person=person, kind="email",
                                  value="new@example.org")  # fmt: skip
    assert OutboundMessage.objects.get(person=person).recipient == "new@example.org"


def test_a_rolled_back_code_sends_nothing(person):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
        raise RuntimeError("the caller failed after the code")
    assert not OneTimeCode.objects.exists() and not OutboundMessage.objects.exists()
    assert sent_codes() == []


def test_the_code_is_masked_in_the_ledger_once_served(person):
    otc = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    message = OutboundMessage.objects.get(person=person)
    assert SIX_DIGITS.search(message.body)  # in clear while on its way to the provider
    assert services.redact_code_message(otc=otc) is False  # still queued: kept, checked again later
    code = last_code()  # dispatched
    assert services.redact_code_message(otc=otc) is True
    message.refresh_from_db()
    assert code not in message.body and "••••••" in message.body and message.state == "sent"
    # A second code, never dispatched, is failed when it expires (an expired code is no use).
    OneTimeCode.objects.all().delete()
    OutboundMessage.objects.all().delete()
    otc = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    assert services.redact_code_message(otc=otc, now=otc.expires_at + dt.timedelta(seconds=1)) is True
    message = OutboundMessage.objects.get(person=person)
    assert message.state == "failed" and not SIX_DIGITS.search(message.body)
    assert sent_codes() == []


def test_a_used_code_is_masked_at_once(person):
    otc = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    code = last_code()
    services.complete_activation(challenge=otc.challenge, code=code, password=PASSWORD, password2=PASSWORD,
                                 channel="web")  # fmt: skip
    assert code not in OutboundMessage.objects.get(person=person).body


def test_the_redaction_task_comes_back_until_the_message_went(person, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    from omniguichet.accounts.tasks import redact_code_message

    with django_capture_on_commit_callbacks(execute=True):  # the task is enqueued after commit
        otc = services.start_activation(
            nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web"
        )
    assert DBTaskResult.objects.filter(task_path=redact_code_message.module_path).count() == 1
    assert redact_code_message.call(otc.pk) is False  # queued: comes back at the expiry
    assert DBTaskResult.objects.filter(task_path=redact_code_message.module_path).count() == 2
    last_code()
    assert redact_code_message.call(otc.pk) is True


def test_send_on_request_checks_its_input(person):
    with pytest.raises(Forbidden):
        send_on_request(actor=Actor(kind="insured", person_id=person.pk), person=person, idempotency_key="k",
                        channel="sms", recipient="+33600000000", subject="S", body="B")  # fmt: skip
    with pytest.raises(InvalidInput) as exc:
        send_on_request(actor=Actor.system(), person=person, idempotency_key=" ", channel="inbox", recipient="",
                        subject="", body="x" * 500, motive="nope")  # fmt: skip
    assert set(exc.value.fields) == {"idempotency_key", "channel", "recipient", "subject", "motive"}
    first = send_on_request(actor=Actor.system(), person=person, idempotency_key="k", channel="sms",
                            recipient="+33600000000", subject="S", body="B")  # fmt: skip
    again = send_on_request(actor=Actor.system(), person=person, idempotency_key="k", channel="sms",
                            recipient="+33600000000", subject="S2", body="B2")  # fmt: skip
    assert again.pk == first.pk and OutboundMessage.objects.count() == 1


def test_activation_by_letter_days_later_with_the_nir(person):
    from django.test import Client

    first = Client()
    response = first.post("/compte/activation/", {"nir": person.nir, "birth_date": "03/12/1984",
                                                  "delivery": "letter"})  # fmt: skip
    assert response["Location"] == "/compte/activation/code/"
    code = last_code("activation")
    # Days later, another browser: the page asks for the NIR with the code.
    later = Client()
    page = later.get("/compte/activation/code/")
    assert page.status_code == 200 and 'name="nir"' in page.content.decode()
    wrong = later.post("/compte/activation/code/", {"nir": person.nir, "code": code, "password": "short",
                                                    "password2": "short"})  # fmt: skip
    assert wrong.status_code == 422 and not OneTimeCode.objects.filter(used_at__isnull=False).exists()
    unknown = later.post("/compte/activation/code/", {"nir": "1" + person.nir[1:], "code": code,
                                                      "password": PASSWORD, "password2": PASSWORD})  # fmt: skip
    assert unknown.status_code == 422
    response = later.post("/compte/activation/code/", {"nir": person.nir, "code": code, "password": PASSWORD,
                                                       "password2": PASSWORD})  # fmt: skip
    assert response.status_code == 302 and response["Location"] == "/compte/"
    assert later.get("/compte/").status_code == 200
    with pytest.raises(InvalidInput) as exc:  # served once
        services.complete_activation(challenge="", nir=person.nir, code=code, password=PASSWORD,
                                     password2=PASSWORD, channel="web")  # fmt: skip
    assert "wrong or expired code" in exc.value.fields["code"]  # the same answer as a wrong code


def test_second_factor_falls_back_to_the_verified_email(insured, person):
    from django.test import Client

    from omniguichet.accounts.models import Account

    Account.objects.filter(person=person).update(second_factor=True)
    ContactPoint.objects.filter(person=person).delete()
    ContactPoint.objects.create(person=person, kind="email", value="marie@example.org", verified=True,
                                verified_at=timezone.now())  # fmt: skip
    client = Client()
    response = client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert response["Location"] == "/compte/connexion/code/"
    page = client.get("/compte/connexion/code/").content.decode()
    assert "Code received by e-mail" in page and "sent by e-mail" in page
    [sent] = sent_codes()
    assert (sent["channel"], sent["to"], sent["purpose"]) == ("email", "marie@example.org", "second_factor")
    assert client.post("/compte/connexion/code/", {"code": sent["code"]})["Location"] == "/compte/"
    # The app is told where the code went.
    app = Client().post("/api/v1/account/login", {"nir": person.nir, "password": PASSWORD},
                        content_type="application/json").json()  # fmt: skip
    assert app["token"] is None and app["second_factor_delivery"] == "email"


def test_second_factor_without_any_verified_point_refuses_clearly(insured, person):
    from django.test import Client

    from omniguichet.accounts.models import Account

    Account.objects.filter(person=person).update(second_factor=True)
    ContactPoint.objects.filter(person=person).delete()
    with pytest.raises(Forbidden) as exc:
        services.authenticate(nir=person.nir, password=PASSWORD, channel="web")
    assert exc.value.code == "second_factor_unavailable" and "contact your caisse" in exc.value.message
    page = Client().post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert page.status_code == 403 and "contact your caisse" in page.content.decode()
    app = Client().post("/api/v1/account/login", {"nir": person.nir, "password": PASSWORD},
                        content_type="application/json")  # fmt: skip
    assert app.status_code == 403 and app.json()["error"]["code"] == "second_factor_unavailable"
    assert not OneTimeCode.objects.exists() and not OutboundMessage.objects.exists()
