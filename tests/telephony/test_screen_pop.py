import datetime as dt
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omniguichet.crm.models import RecordAccess
from omniguichet.telephony.models import Call
from tests.telephony.conftest import call_lines, ingest, new_call_id

PAGE = "/agent/telephonie/"
FRAGMENT = "/agent/telephonie/appel/"


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def answered(caller="+33698765432", agent="tel-paris", ivr="3"):
    """A call answered by `agent`, not hung up yet."""
    call_id = new_call_id()
    start = timezone.now() - dt.timedelta(minutes=2)
    ingest(call_lines(call_id, caller=caller, agent=agent, ivr=ivr, start=start)[:4])
    return call_id


def test_the_page_polls_the_fragment_every_2_s(phone_agent):
    response = logged(phone_agent).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html and f'hx-get="{FRAGMENT}"' in html


def test_the_page_is_for_staff(make_person, paris_person):
    assert Client().get(PAGE).status_code == 302  # to the login page
    assert Client().get(FRAGMENT).status_code == 302


def test_nothing_new_is_204(paris_person, phone_agent):
    assert logged(phone_agent).get(FRAGMENT, HTTP_HX_REQUEST="true").status_code == 204
    ingest(call_lines(new_call_id()))  # answered 30 minutes ago: too old to open the record now
    assert logged(phone_agent).get(FRAGMENT, HTTP_HX_REQUEST="true").status_code == 204


def test_answer_opens_the_callers_record_once_with_the_motive(paris_person, phone_agent):
    call_id = answered(ivr="3")
    client = logged(phone_agent)
    response = client.get(FRAGMENT, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    target = urlsplit(response["HX-Redirect"])
    assert target.path == reverse("crm:record", args=[paris_person.pk])
    query = parse_qs(target.query)
    assert query["purpose"] == ["Incoming phone call"] and query["motive"] == ["carte_vitale"]
    assert Call.objects.get(call_id=call_id).popped_at is not None
    assert client.get(FRAGMENT, HTTP_HX_REQUEST="true").status_code == 204  # once
    # Following the redirect opens the record, audited with the purpose, the motive preselected.
    page = client.get(response["HX-Redirect"])
    assert page.status_code == 200
    assert '<option value="carte_vitale" selected>' in page.content.decode()
    access = RecordAccess.objects.get(person=paris_person)
    assert (access.user_id, access.purpose) == (phone_agent.pk, "Incoming phone call")


def test_the_audit_purpose_in_french(paris_person, phone_agent):
    answered()
    client = logged(phone_agent)
    response = client.get(FRAGMENT, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="fr")
    client.get(response["HX-Redirect"], HTTP_ACCEPT_LANGUAGE="fr")
    assert RecordAccess.objects.get().purpose == "Appel entrant"


def test_another_agent_gets_nothing(paris_person, phone_agent, caisse_paris):
    from omniguichet.referential.models import Role
    from tests.conftest import make_user

    answered()
    colleague = make_user("tel-paris-2", role=Role.PHONE_AGENT, caisse=caisse_paris)
    response = logged(colleague).get(FRAGMENT, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and "HX-Redirect" not in response
    assert logged(phone_agent).get(FRAGMENT, HTTP_HX_REQUEST="true").has_header("HX-Redirect")


def test_unknown_caller_shows_the_number_masked_and_a_search_link(db, phone_agent):
    answered(caller="+33612345678")
    response = logged(phone_agent).get(FRAGMENT, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "HX-Redirect" not in response
    html = response.content.decode()
    assert "06 12 34 56 ••" in html and "78" not in html
    assert reverse("crm:console") in html


def test_unverified_number_is_an_unknown_caller(make_person, phone_agent):
    from omniguichet.referential.models import ContactPoint

    person = make_person()
    ContactPoint.objects.create(person=person, kind="mobile", value="+33655554444", verified=False)
    answered(caller="+33655554444")
    response = logged(phone_agent).get(FRAGMENT, HTTP_HX_REQUEST="true")
    assert "HX-Redirect" not in response and "06 55 55 44 ••" in response.content.decode()


def test_other_caisse_caller_is_not_revealed(ain_person, phone_agent):
    """An agent of Paris answering a caller of the Ain: no redirect (the record would answer 404 anyway)."""
    answered(caller="+33611112222")
    client = logged(phone_agent)
    response = client.get(FRAGMENT, HTTP_HX_REQUEST="true")
    assert "HX-Redirect" not in response and "not identified" in response.content.decode()
    assert client.get(reverse("crm:record", args=[ain_person.pk])).status_code == 404
    assert not RecordAccess.objects.exists()
