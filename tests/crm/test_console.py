"""The agent console pages (server side); the browser test drives the same pages in chromium."""

import pytest
from django.test import Client

from omniguichet.core import staff_otp
from omniguichet.crm.models import Contact, RecordAccess
from tests.conftest import make_user


@pytest.fixture
def paris_client(agent_paris):
    client = Client()
    client.force_login(agent_paris)
    return client


def test_console_requires_login_and_a_staff_role(db):
    response = Client().get("/agent/")
    assert response.status_code == 302 and response["Location"].startswith("/agent/login/")
    client = Client()
    client.force_login(make_user("insured", role=""))
    assert client.get("/agent/").status_code == 403


def test_login_page_logs_an_agent_in(agent_paris):
    client = Client()
    assert client.get("/agent/login/").status_code == 200
    bad = client.post("/agent/login/", {"username": "agent-paris", "password": "wrong"})
    assert bad.status_code == 200 and "Wrong username or password" in bad.content.decode()
    good = client.post("/agent/login/", {"username": "agent-paris", "password": "not-used-here-123"})
    # The password is the first step: the second factor (TOTP) comes before the console.
    assert good.status_code == 302 and good["Location"] == "/agent/login/code/?next=%2Fagent%2F"
    assert client.get("/agent/")["Location"].startswith("/agent/login/code/")
    enrol = client.get(good["Location"]).content.decode()
    assert 'id="totp-qr"' in enrol and 'id="totp-secret"' in enrol  # no device yet: enrolment
    device = staff_otp.device_for(agent_paris).device
    done = client.post(good["Location"], {"code": staff_otp.current_code(device)})
    assert done.status_code == 302 and done["Location"] == "/agent/"
    assert client.get("/agent/").status_code == 200


def test_search_page_and_htmx_fragment(paris_client, paris_person, ain_person):
    page = paris_client.get("/agent/search/", {"q": "lefevre 03/12/1984"}).content.decode()
    assert f"/agent/persons/{paris_person.pk}/" in page
    assert f"/agent/persons/{ain_person.pk}/" not in page  # same name and birth date, other caisse
    fragment = paris_client.get(
        "/agent/search/", {"q": "06 98 76 54 32"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in fragment and f"/agent/persons/{paris_person.pk}/" in fragment
    vague = paris_client.get("/agent/search/", {"q": "dupont"}, HTTP_HX_REQUEST="true").content.decode()
    assert "birth date" in vague


def test_record_page_is_audited_with_its_purpose_and_scoped(paris_client, paris_person, ain_person):
    response = paris_client.get(
        f"/agent/persons/{paris_person.pk}/", {"purpose": "Visit at the reception desk"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "LEFÈVRE" in html and "+33698765432" in html and paris_person.nir not in html
    # From the record, the agent books an appointment or asks for a document for this person.
    assert f'href="/agent/rendez-vous/{paris_person.pk}/"' in html
    assert f'href="/agent/baskets/persons/{paris_person.pk}/"' in html
    access = RecordAccess.objects.get()
    assert access.purpose == "Visit at the reception desk"
    assert paris_client.get(f"/agent/persons/{ain_person.pk}/").status_code == 404
    assert RecordAccess.objects.count() == 1


def test_add_a_contact_from_the_console(paris_client, paris_person):
    paris_client.get(f"/agent/persons/{paris_person.pk}/")
    response = paris_client.post(
        f"/agent/persons/{paris_person.pk}/contacts/",
        {
            "channel": "reception",
            "motive": "carte_vitale",
            "outcome": "resolved",
            "waited_minutes": "12",
            "on_appointment": "yes",
            "note": "photo déposée",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert (contact.channel, contact.waited_seconds, contact.on_appointment, contact.answered) == (
        "reception",
        720,
        True,
        None,
    )
    assert response.content.decode().index("photo déposée") < response.content.decode().index("</li>")
    bad = paris_client.post(
        f"/agent/persons/{paris_person.pk}/contacts/", {"channel": "reception", "motive": "x"}
    )
    assert bad.status_code == 422 and Contact.objects.count() == 1


def test_timeline_fragment_needs_an_opened_record(paris_client, paris_person):
    url = f"/agent/persons/{paris_person.pk}/timeline/"
    assert paris_client.get(url).status_code == 302  # back to the record, which audits the opening
    paris_client.get(f"/agent/persons/{paris_person.pk}/")
    assert paris_client.get(url, {"channel": "phone"}, headers={"HX-Request": "true"}).status_code == 200
    # Opened without htmx (a new tab, a bookmark): the record itself, not a bare fragment.
    assert paris_client.get(url).url == f"/agent/persons/{paris_person.pk}/"
