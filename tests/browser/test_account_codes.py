"""In chromium: a person activates their account with the code the outbound message ledger sent by SMS (read from
the SMS provider's sink, as the phone would show it), then finds a message in their account's inbox, opens it and
it is read."""

import datetime as dt

from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.core.actors import Actor
from omniguichet.outreach.models import InboxMessage, OutboundMessage
from omniguichet.outreach.services import send_to_person
from omniguichet.referential.models import ContactPoint
from tests.accounts.conftest import sent_codes

PASSWORD = "Un-mot-de-passe-solide-2026"


def test_activation_by_sms_code_then_the_inbox(live_server, page, make_person, settings, tmp_path):
    settings.LANGUAGE_CODE = "fr"
    settings.OUTREACH_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTREACH_SMS_PROVIDER = "file"
    person = make_person(given_names="Marie", family_name="Lefèvre", birth_date=dt.date(1984, 12, 3),
                         address_line="3 rue des Lilas", postcode="75011", city="Paris")  # fmt: skip
    ContactPoint.objects.create(person=person, kind="mobile", value="+33698765432", verified=True,
                                verified_at=timezone.now())  # fmt: skip

    page.goto(f"{live_server.url}/compte/activation/")
    page.fill("#id_nir", person.nir)
    page.fill("#id_birth_date", "03/12/1984")
    page.check("input[name=delivery][value=sms]")
    page.click("#activation-submit")
    page.wait_for_url(f"{live_server.url}/compte/activation/code/")
    [sms] = sent_codes()  # the worker's dispatch, then what the SMS provider received
    assert sms["to"] == "+33698765432" and "Assurance Maladie" in sms["text"]
    page.fill("#id_code", sms["code"])
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("#code-submit")
    page.wait_for_url(f"{live_server.url}/compte/")
    assert "LEFÈVRE Marie" in page.inner_text("#welcome")
    assert Account.objects.get(person=person).user.username == person.nir
    # The ledger keeps no usable code once it was used.
    assert sms["code"] not in OutboundMessage.objects.get(person=person, channel="sms").body

    # A message delivered to the account: unread on the home page, read once opened.
    send_to_person(actor=Actor.system(), person=person, idempotency_key="attestation-prete",
                   subject="Votre attestation est prête", body="Vous pouvez la télécharger.",
                   channel_policy="inbox")  # fmt: skip
    from omniguichet.outreach.services import drain

    drain()
    page.reload()
    assert "1 non lu" in page.inner_text("#home-unread").lower()  # a DSFR badge is in capitals
    page.click("#home-inbox a >> text=Votre attestation est prête")
    page.wait_for_selector("#message-body")
    assert "Vous pouvez la télécharger." in page.inner_text("#message-body")
    assert InboxMessage.objects.get(person=person).read_at is not None
    page.goto(f"{live_server.url}/compte/")
    assert page.locator("#home-unread").count() == 0
