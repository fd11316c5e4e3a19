"""The person's cases in the online account (/compte/dossiers/): anonymous and staff logins go to the account's
login page; the person sees their own cases only, with the timeline in plain words and the awaited documents."""

from django.test import Client
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.cases.services import ingest_case_events
from omniguichet.core.actors import Actor
from tests.cases.conftest import event, opened
from tests.conftest import make_user


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_my_cases_page(make_person, agent_paris, django_assert_max_num_queries):
    person = make_person(family_name="Martin", given_names="Claire")
    user = make_user("claire.martin", role="", caisse=None)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    other = make_person(family_name="Autre")
    ingest_case_events(actor=Actor.system("t"), source="t", rows=[
        opened("IJ-77", person),
        event("IJ-77", 2, "document_missing", {"document": "rib", "label": "votre RIB", "due_on": "2026-12-24"}),
        event("IJ-77", 3, "payment", {"amount": "1234.5", "paid_on": "2026-03-03"}),
        opened("IJ-88", other),
    ])  # fmt: skip

    response = Client().get("/compte/dossiers/")
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    staff = logged(agent_paris).get("/compte/dossiers/")
    assert staff.status_code == 302 and "/compte/connexion/" in staff["Location"]

    client = logged(user)
    with django_assert_max_num_queries(8):  # session, user, account, then the 3 queries of my_cases
        page = client.get("/compte/dossiers/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "IJ-77" in html and "IJ-88" not in html
    assert "Your request was registered." in html
    assert "We paid you 1\u00a0234,50\u00a0€ on 3 mars 2026." in html
    assert "We are waiting for: votre RIB" in html and "/compte/dossiers/IJ-77/pieces/rib" in html


def test_my_cases_page_in_french(make_person):
    from django.utils import translation

    person = make_person()
    user = make_user("paul.fr", role="", caisse=None)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    ingest_case_events(actor=Actor.system("t"), source="t", rows=[
        opened("IJ-9", person), event("IJ-9", 2, "document_missing", {"document": "rib", "label": "RIB"}),
    ])  # fmt: skip
    with translation.override("fr"):
        html = logged(user).get("/compte/dossiers/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Mes dossiers" in html and "Nous attendons : RIB" in html and "l'envoyer</a>" in html
