"""Each service of the catalogue, used with valid input on EVERY surface its declaration offers it on: the web
account, the mobile app (JSON API), the kiosk, the agent console (page) and an agent's token (API) on the
person's behalf. Each use is one request and one contact with the surface's channel and the service's motive;
a surface the declaration leaves out answers 403 with the reason."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.referential.models import ContactPoint
from omniguichet.referential.validators import compose_nir
from omniguichet.teleservices import services
from omniguichet.teleservices.models import TeleserviceRequest
from tests.accounts.conftest import PASSWORD, sent_codes
from tests.conftest import make_user
from tests.crm.conftest import client_for
from tests.teleservices.conftest import PDF_B64, PDF_BYTES, use

pytestmark = pytest.mark.django_db
CODES = sorted(services.CATALOGUE)
IBAN = "FR76 3000 6000 0112 3456 7890 189"


def valid_input(code: str, *, form: bool) -> dict:
    """Valid input of each service; a file as base64 for the API, as an upload for a page."""
    today = dt.date.today()
    child_birth = today - dt.timedelta(days=400)
    document = SimpleUploadedFile("rib.pdf", PDF_BYTES, "application/pdf") if form else PDF_B64
    return {
        "attestation_droits": {},
        "releve_remboursements": {"care": "pharma"},
        "attestation_ij": {},
        "carte_europeenne": {},
        "perte_vol_vitale": {"reason": "lost", "declared_on": today.isoformat()},
        "changement_adresse": {"address_line": "8 avenue Foch", "postcode": "75016", "city": "Paris"},
        "changement_rib": {"iban": IBAN, "holder": "Marie Lefèvre", "rib_document": document},
        "changement_contact": {"kind": "email", "value": "nouveau@example.org"},
        "rattachement_enfant": {
            "nir": compose_nir(sex="M", birth_date=child_birth, birth_place="75056", order=321),
            "given_names": "Paul",
            "family_name": "Lefèvre",
            "birth_date": child_birth.isoformat(),
            "sex": "M",
            "birth_place": "75056",
        },
        "css": {"household_size": "2", "annual_resources": "9 850"},
    }[code]


def test_every_service_has_valid_input_here():
    for code in CODES:
        valid_input(code, form=False)  # a new service must be added above


def _one_use(code: str, channel: str, actor_kind: str) -> None:
    request = TeleserviceRequest.objects.get(service=code)
    contact = Contact.objects.get(subject_kind="teleservice", subject_ref=str(request.pk))
    assert (request.channel, request.actor_kind) == (channel, actor_kind)
    assert (contact.channel, contact.actor_kind) == (channel, actor_kind)
    assert contact.motive_id == services.CATALOGUE[code].motive


@pytest.mark.parametrize("code", CODES)
def test_on_the_app(code, app, person, history):
    response = use(app, code, valid_input(code, form=False), idempotency_key=f"app-{code}")
    assert response.status_code == 201, response.content
    _one_use(code, "app", "insured")


@pytest.mark.parametrize("code", CODES)
def test_by_an_agent_token_on_behalf(code, person, history, agent_paris):
    response = use(
        client_for(agent_paris), code, valid_input(code, form=False), person_id=person.pk, channel="phone"
    )
    assert response.status_code == 201, response.content
    _one_use(code, "phone", "agent")


@pytest.mark.parametrize("code", CODES)
def test_on_the_web_account(code, web, person, history):
    response = web.post(
        f"/compte/services/{code}/", {**valid_input(code, form=True), "idempotency_key": f"web-{code}"}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert web.get(response["Location"]).status_code == 200
    _one_use(code, "web", "insured")


@pytest.mark.parametrize("code", CODES)
def test_at_the_kiosk(code, insured, person, history):
    kiosk = Client()
    kiosk.post("/borne/connexion/", {"nir": person.nir, "password": PASSWORD})
    response = kiosk.post(
        f"/borne/services/{code}/", {**valid_input(code, form=True), "idempotency_key": f"kiosk-{code}"}
    )
    if "kiosk" not in services.CATALOGUE[code].channels:
        assert response.status_code == 403 and "is not offered on the kiosks" in response.content.decode()
        assert not TeleserviceRequest.objects.exists() and not Contact.objects.exists()
        return
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert kiosk.get(response["Location"]).status_code == 200
    _one_use(code, "kiosk", "insured")


@pytest.mark.parametrize("code", CODES)
def test_in_the_agent_console(code, person, history, caisse_paris):
    agent = Client()
    agent.force_login(make_user("agent-751", caisse=caisse_paris))
    agent.get(f"/agent/persons/{person.pk}/")  # the record is opened first (the audit entry)
    response = agent.post(
        f"/agent/persons/{person.pk}/services/{code}/",
        {**valid_input(code, form=True), "channel": "reception", "idempotency_key": f"agent-{code}"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert agent.get(response["Location"]).status_code == 200
    _one_use(code, "reception", "agent")


def _code_form(html: str) -> dict:
    """The hidden inputs of the second step's form on the result page."""
    form = html[html.index('id="code-form"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', form))


@pytest.mark.parametrize("surface", ["web", "agent"])
def test_a_contact_change_is_confirmed_by_its_code_on_the_pages(surface, web, person, caisse_paris):
    if surface == "web":
        client, form_url = web, "/compte/services/changement_contact/"
        extra: dict = {}
    else:
        client = Client()
        client.force_login(make_user("agent-751", caisse=caisse_paris))
        client.get(f"/agent/persons/{person.pk}/")
        form_url, extra = f"/agent/persons/{person.pk}/services/changement_contact/", {"channel": "phone"}
    first = client.post(form_url, {"kind": "email", "value": "nouveau@example.org", "idempotency_key": "c-1",
                                   **extra})  # fmt: skip
    result = client.get(first["Location"]).content.decode()
    hidden = _code_form(result)
    assert hidden["kind"] == "email" and hidden["challenge"]
    sent = sent_codes()[-1]
    assert sent["to"] == "nouveau@example.org"
    wrong = client.post(form_url, {**hidden, "code": "12"})
    assert wrong.status_code == 422 and "the code has 6 digits" in wrong.content.decode()
    # The page that comes back is still the second step: the code to type again, the request kept.
    again = wrong.content.decode()
    assert 'name="code"' in again and f'value="{hidden["challenge"]}"' in again
    assert 'name="value" value="' not in again.replace(
        'type="hidden" id="id_value" name="value" value=""', ""
    )
    done = client.post(form_url, {**hidden, "code": sent["code"]})
    assert done.status_code == 302
    assert "is now nouveau@example.org" in client.get(done["Location"]).content.decode()
    point = ContactPoint.objects.get(person=person, kind="email")
    assert point.value == "nouveau@example.org" and point.verified
    channel = "web" if surface == "web" else "phone"
    assert list(Contact.objects.filter(motive_id="changement_contact").values_list("channel", flat=True)) == [
        channel,
        channel,
    ]
