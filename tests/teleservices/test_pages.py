"""The same declarations as pages: web account, kiosk, agent console."""

import pytest
from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.teleservices import services
from omniguichet.teleservices.models import TeleserviceRequest
from tests.accounts.conftest import PASSWORD
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_web_form_needs_a_login(db):
    response = Client().get("/compte/services/changement_adresse/")
    assert response.status_code == 302 and response["Location"].startswith("/compte/connexion/")


def test_web_form_validates_and_double_submission_is_one_request(web, person):
    page = web.get("/compte/services/changement_adresse/")
    assert page.status_code == 200 and 'name="postcode"' in page.content.decode()
    bad = web.post(
        "/compte/services/changement_adresse/",
        {"address_line": "1 rue A", "postcode": "1", "idempotency_key": "form-1"},
    )
    assert bad.status_code == 422
    body = bad.content.decode()
    assert "must have 5 digits" in body and "is required" in body and 'value="form-1"' in body
    data = {"address_line": "1 rue A", "postcode": "75001", "city": "Paris", "idempotency_key": "form-1"}
    first = web.post("/compte/services/changement_adresse/", data)
    second = web.post("/compte/services/changement_adresse/", data)  # a double click
    assert first["Location"] == second["Location"]
    assert TeleserviceRequest.objects.count() == 1 and Contact.objects.get().channel == "web"
    result = web.get(first["Location"])
    assert "Your address is now 1 rue A, 75001 Paris" in result.content.decode()


def test_web_attestation_download(web, person):
    response = web.post("/compte/services/attestation_droits/", {"idempotency_key": "a-1"})
    page = web.get(response["Location"]).content.decode()
    rid = TeleserviceRequest.objects.get().pk
    assert f"/compte/demandes/{rid}/document/?format=pdf" in page
    pdf = web.get(f"/compte/demandes/{rid}/document/?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_web_shows_the_refusal(web, person):
    response = web.get("/compte/services/attestation_ij/")
    assert response.status_code == 403 and "no daily allowance was paid to you" in response.content.decode()


def test_kiosk_session_ends_by_itself(person, insured, settings):
    settings.KIOSK_IDLE_SECONDS = 60
    kiosk = Client()
    assert kiosk.get("/borne/")["Location"] == "/borne/connexion/"
    response = kiosk.post("/borne/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert response["Location"] == "/borne/"
    assert kiosk.session.get_expiry_age() == 60
    home = kiosk.get("/borne/").content.decode()
    assert "kiosk.js" in home and 'data-idle-seconds="60"' in home and "og-kiosk-tile" in home
    response = kiosk.post("/borne/services/attestation_droits/", {"idempotency_key": "kiosk-1"})
    assert response.status_code == 302
    assert Contact.objects.get().channel == "kiosk"
    # A web session is not a kiosk session.
    web = Client()
    web.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert web.get("/borne/")["Location"] == "/borne/connexion/"
    kiosk.post("/borne/fin/")
    assert kiosk.get("/borne/")["Location"] == "/borne/connexion/"


def test_agent_console_on_behalf(person, caisse_paris, caisse_ain):
    agent = make_user("agent-751", caisse=caisse_paris)
    client = Client()
    client.force_login(agent)
    # From the customer record only: its opening (with a purpose) is the audit entry.
    assert client.get(f"/agent/persons/{person.pk}/services/")["Location"] == f"/agent/persons/{person.pk}/"
    assert client.get(f"/agent/persons/{person.pk}/").status_code == 200
    listing = client.get(f"/agent/persons/{person.pk}/services/")
    assert listing.status_code == 200 and "changement_adresse" in listing.content.decode()
    response = client.post(
        f"/agent/persons/{person.pk}/services/changement_adresse/",
        {
            "channel": "reception",
            "address_line": "2 rue B",
            "postcode": "75002",
            "city": "Paris",
            "idempotency_key": "agent-1",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.channel, contact.actor_kind, contact.agent) == ("reception", "agent", agent)
    bad = client.post(f"/agent/persons/{person.pk}/services/changement_adresse/", {"channel": "web"})
    assert bad.status_code == 422
    # The channel is the form's own field (django-dsfr): its refusal is announced under it.
    from tests.forms import error_under

    assert error_under(bad.content, "id_channel")
    assert Contact.objects.count() == 1
    other = make_user("agent-011", caisse=caisse_ain)
    client.force_login(other)
    assert client.get(f"/agent/persons/{person.pk}/services/").status_code == 404
    assert client.get(f"/agent/persons/{person.pk}/services/changement_adresse/").status_code == 404
    assert client.get(f"/agent/requests/{TeleserviceRequest.objects.get().pk}/").status_code == 404


def test_insured_login_cannot_use_the_agent_console(web, person):
    assert web.get(f"/agent/persons/{person.pk}/services/").status_code == 403


@pytest.mark.parametrize("code", sorted(services.CATALOGUE))
def test_every_service_form_renders_on_every_surface(code, web, person, insured, caisse_paris, history):
    service = services.CATALOGUE[code]
    page = web.get(f"/compte/services/{code}/")
    assert page.status_code in (200, 403)
    body = page.content.decode()
    assert str(service.title) in body
    if page.status_code == 200:
        for f in service.fields:
            if f.name not in ("challenge", "code"):
                assert f'name="{f.name}"' in body
    kiosk = Client()
    kiosk.post("/borne/connexion/", {"nir": person.nir, "password": PASSWORD})
    expected = 200 if "kiosk" in service.channels else 403
    assert kiosk.get(f"/borne/services/{code}/").status_code == expected
    agent = Client()
    agent.force_login(make_user("agent-751", caisse=caisse_paris))
    agent.get(f"/agent/persons/{person.pk}/")
    assert agent.get(f"/agent/persons/{person.pk}/services/{code}/").status_code == 200


def test_statement_page_shows_dates_and_amounts(web, history, settings):
    response = web.post("/compte/services/releve_remboursements/", {"idempotency_key": "s-1"})
    body = web.get(response["Location"]).content.decode()
    first = TeleserviceRequest.objects.get().result["lines"][0]
    y, m, d = first["care_date"].split("-")
    assert f"<td>{d}/{m}/{y}</td>" in body and f"{first['reimbursed']} €" in body
