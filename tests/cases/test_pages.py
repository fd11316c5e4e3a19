"""The person's cases page in the online account (/compte/dossiers/)."""

from django.test import Client
from django.utils import timezone

from omniguichet.accounts.models import Account
from tests.cases.conftest import event, opened
from tests.conftest import make_user
from tests.crm.conftest import client_for

URL = "/compte/dossiers/"


def _play(supervisor, rows):
    response = client_for(supervisor).post("/api/v1/case-events", rows, content_type="application/json")
    assert response.status_code == 200 and response.json()["rejected"] == 0, response.content


def _insured(person, username="marie"):
    login = make_user(username, role="")
    Account.objects.create(person=person, opened_at=timezone.now(), user=login)
    client = Client()
    client.force_login(login)
    return client


def test_anonymous_and_staff_go_to_the_account_login(paris_person, agent_paris):
    assert Client().get(URL)["Location"].startswith("/compte/connexion/")
    staff = Client()
    staff.force_login(agent_paris)
    assert staff.get(URL)["Location"].startswith("/compte/connexion/")


def test_the_person_reads_their_cases_in_plain_words_with_a_link_for_each_awaited_document(
    paris_person, ain_person, supervisor, django_assert_max_num_queries
):
    _play(supervisor, [
        opened("IJ-WEB", paris_person),
        event("IJ-WEB", 2, "document_missing", {"document": "rib", "label": "Relevé d'identité bancaire"}),
        event("IJ-WEB", 3, "payment", {"amount": "123.40"}),
        opened("AIN-WEB", ain_person),
    ])  # fmt: skip
    client = _insured(paris_person)
    with django_assert_max_num_queries(12):  # session, user, account, the cases (4), their appointments
        response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "IJ-WEB" in page and "AIN-WEB" not in page  # only the person's own cases
    assert "We are waiting for: Relevé d&#x27;identité bancaire" in page
    assert "123,40" in page  # the payment in French format
    assert 'href="/compte/dossiers/IJ-WEB/pieces/rib"' in page
    # The link opens the deposit page of that requested document.
    deposit = client.get("/compte/dossiers/IJ-WEB/pieces/rib")
    assert deposit.status_code == 302 and "kind=case_request" in deposit["Location"]


def test_the_account_home_links_to_the_cases(paris_person):
    page = _insured(paris_person).get("/compte/").content.decode()
    assert f'href="{URL}"' in page


def test_no_case_says_so(paris_person):
    assert "You have no case in progress." in _insured(paris_person).get(URL).content.decode()
