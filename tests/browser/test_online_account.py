"""In chromium: a person logs in to the web account, downloads the certificate of rights (the PDF parses and
shows their name and masked NIR) and changes their address; the same service is then used through the JSON API
(the app) and by an agent on their behalf at the reception desk; the customer record shows the three."""

import datetime as dt
import io
from pathlib import Path

import requests
from django.utils import timezone
from pypdf import PdfReader

from omniguichet.accounts.models import Account
from omniguichet.core.services import issue_token
from omniguichet.crm.models import Contact
from omniguichet.referential.models import ContactPoint, User
from omniguichet.referential.validators import mask_nir
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user

PASSWORD = "Un-mot-de-passe-solide-2026"


def test_one_service_on_three_channels(live_server, page, make_person, caisse_paris, settings):
    settings.LANGUAGE_CODE = "fr"
    person = make_person(
        given_names="Marie",
        family_name="Lefèvre",
        birth_date=dt.date(1984, 12, 3),
        address_line="3 rue des Lilas",
        postcode="75011",
        city="Paris",
        rights_from=dt.date(2010, 1, 1),
    )
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    agent = make_user("agent-751", caisse=caisse_paris)

    # 1. The web account: log in, download the certificate, change the address.
    page.goto(f"{live_server.url}/compte/")
    assert "/compte/connexion/" in page.url
    page.fill("#id_nir", person.nir)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_server.url}/compte/")
    assert "LEFÈVRE Marie" in page.inner_text("#welcome")
    page.click("#service-attestation_droits a")
    page.click("#service-submit")
    page.wait_for_selector("#download-pdf")
    with page.expect_download() as download:
        page.click("#download-pdf")
    pdf = Path(download.value.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "LEFÈVRE Marie" in text
    assert mask_nir(person.nir).replace("•", "*") in text and person.nir not in text

    page.goto(f"{live_server.url}/compte/services/changement_adresse/")
    page.fill("#id_address_line", "8 avenue Foch")
    page.fill("#id_postcode", "7501")  # a typing error first: the field says what is wrong
    page.fill("#id_city", "Paris")
    page.click("#service-submit")
    assert page.is_visible("#id_postcode-desc-error")
    page.fill("#id_postcode", "75016")
    page.click("#service-submit")
    page.wait_for_selector("#result")
    assert "75016" in page.inner_text("#result")

    # 2. The mobile app: the same service through the JSON API, with the person's token.
    _token, secret = issue_token(user=user)
    response = requests.post(
        f"{live_server.url}/api/v1/teleservices/changement_adresse",
        json={
            "data": {"address_line": "10 rue de la Paix", "postcode": "75002", "city": "Paris"},
            "idempotency_key": "app-1",
        },
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text

    # 3. An agent at the reception desk, on the person's behalf, from the customer record.
    page.click("#logout")
    page.goto(f"{live_server.url}/agent/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "not-used-here-123")
    page.press("#id_password", "Enter")
    give_second_factor(page, agent.username)
    page.wait_for_url(f"{live_server.url}/agent/")
    page.goto(f"{live_server.url}/agent/persons/{person.pk}/")
    page.click("#online-services")
    page.click("#agent-service-changement_adresse a")
    page.select_option("#id_channel", "reception")
    page.fill("#id_address_line", "12 rue du Bac")
    page.fill("#id_postcode", "75007")
    page.fill("#id_city", "Paris")
    page.click("#service-submit")
    page.wait_for_selector("#result")

    # The record shows the change of address on three channels.
    page.goto(f"{live_server.url}/agent/persons/{person.pk}/")
    timeline = page.inner_text("#timeline")
    for channel in ("compte web", "application mobile", "accueil physique"):
        assert f"Changement d'adresse — {channel}" in timeline
    contacts = Contact.objects.filter(person=person, motive_id="changement_adresse").order_by("started_at")
    assert [(c.channel, c.actor_kind) for c in contacts] == [
        ("web", "insured"),
        ("app", "insured"),
        ("reception", "agent"),
    ]
    person.refresh_from_db()
    assert (person.address_line, person.postcode) == ("12 rue du Bac", "75007")
