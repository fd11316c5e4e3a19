"""The account inbox: the messages outreach delivered to the person's account, with read/unread state, on the
web account and through the API of the app."""

import pytest
from django.test import Client

from omniguichet.core.actors import Actor
from omniguichet.outreach.models import InboxMessage
from omniguichet.outreach.services import drain, send_to_person
from tests.accounts.conftest import PASSWORD
from tests.conftest import make_user
from tests.crm.conftest import client_for

pytestmark = pytest.mark.django_db


def deliver(person, key: str, subject: str, body: str = "Le détail du message.") -> InboxMessage:
    """A message sent through the ledger to the account inbox (and dispatched, as the worker would)."""
    send_to_person(actor=Actor.system(), person=person, idempotency_key=key, subject=subject, body=body,
                   channel_policy="inbox")  # fmt: skip
    drain()
    return InboxMessage.objects.get(person=person, subject=subject)


@pytest.fixture
def web(insured, person) -> Client:
    client = Client()
    assert client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def other(make_person):
    from django.utils import timezone

    from omniguichet.accounts.models import Account

    someone = make_person(family_name="Autre")
    Account.objects.create(person=someone, opened_at=timezone.now())
    return someone


def test_the_inbox_pages_show_the_ledger_messages_with_their_state(web, person, other):
    first = deliver(person, "m1", "Votre attestation est prête")
    second = deliver(person, "m2", "Votre carte est expédiée", body="Ligne 1\nLigne 2")
    theirs = deliver(other, "m3", "Pas pour vous")
    assert Client().get("/compte/messages/").status_code == 302  # anonymous: to the login page
    page = web.get("/compte/messages/").content.decode()
    assert "Votre attestation est prête" in page and "Votre carte est expédiée" in page
    assert "Pas pour vous" not in page
    assert "2 unread messages" in page and page.count("Unread</span>") == 2
    home = web.get("/compte/").content.decode()
    assert 'id="home-unread"' in home and "2 unread" in home and f"/compte/messages/{second.pk}/" in home
    # Opening a message marks it read (once: the first time stays).
    detail = web.get(f"/compte/messages/{second.pk}/")
    assert detail.status_code == 200 and "Ligne 1<br>Ligne 2" in detail.content.decode()
    second.refresh_from_db()
    first_read = second.read_at
    assert first_read is not None
    web.get(f"/compte/messages/{second.pk}/")
    second.refresh_from_db()
    assert second.read_at == first_read
    assert "1 unread message" in web.get("/compte/messages/").content.decode()
    # Another person's message is a 404, like a missing one, and stays unread.
    assert web.get(f"/compte/messages/{theirs.pk}/").status_code == 404
    assert web.get("/compte/messages/999999/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    # Mark all read.
    assert web.post("/compte/messages/lu/")["Location"] == "/compte/messages/"
    first.refresh_from_db()
    assert first.read_at is not None
    assert "unread" not in web.get("/compte/messages/").content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_inbox_api_of_the_app(insured, person, other, caisse_paris):
    mine = deliver(person, "a1", "Votre paiement")
    theirs = deliver(other, "a2", "Pas pour vous")
    app = client_for(insured)
    # Anonymous: 401; an agent's token: 403; another person's message or a missing one: 404.
    assert Client().post(f"/api/v1/me/inbox/{mine.pk}/read").status_code == 401
    assert Client().post("/api/v1/me/inbox/read").status_code == 401
    agent = client_for(make_user("agent-751", caisse=caisse_paris))
    assert agent.post(f"/api/v1/me/inbox/{mine.pk}/read").status_code == 403
    assert agent.post("/api/v1/me/inbox/read").status_code == 403
    for missing in (theirs.pk, 0, 10**30):
        response = app.post(f"/api/v1/me/inbox/{missing}/read")
        assert response.status_code == 404, missing
        assert response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None
    # Valid: the list shows it unread, marking it read answers it read; the list follows.
    [listed] = app.get("/api/v1/me/inbox").json()
    assert (listed["id"], listed["read"]) == (mine.pk, False)
    response = app.post(f"/api/v1/me/inbox/{mine.pk}/read")
    assert response.status_code == 200 and response.json()["read"] is True
    assert app.get("/api/v1/me/inbox").json()[0]["read"] is True
    deliver(person, "a3", "Un autre")
    assert app.post("/api/v1/me/inbox/read").json() == {"marked": 1}
    assert app.post("/api/v1/me/inbox/read").json() == {"marked": 0}


def test_query_counts_are_locked(web, insured, person, django_assert_num_queries):
    for i in range(5):
        deliver(person, f"q{i}", f"Message {i}")
    message = InboxMessage.objects.filter(person=person).first()
    # session + user + account (actor) + account_of + messages + the online requests' notices + the secure
    # messaging's conversations + 2 of the DSFR base template
    with django_assert_num_queries(9):
        assert web.get("/compte/messages/").status_code == 200
    with django_assert_num_queries(7):  # session + user + account + message + the update + 2 (DSFR)
        assert web.get(f"/compte/messages/{message.pk}/").status_code == 200
    app = client_for(insured)
    unread = InboxMessage.objects.filter(person=person, read_at__isnull=True).first()
    with django_assert_num_queries(4):  # token (with the account) + its last use + message + the update
        assert app.post(f"/api/v1/me/inbox/{unread.pk}/read").status_code == 200
