"""Secure messaging over the API: anonymous -> 401, wrong role -> 403, another person's or caisse's thread -> 404,
then the valid cases; the errors name their field; a replay with the same Idempotency-Key writes nothing more."""

import base64

import pytest
from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.messaging.models import Message, Thread
from tests.crm.conftest import client_for
from tests.documents.conftest import make_pdf

NEW = {
    "motive": "remboursement",
    "subject": "Remboursement",
    "body": "Bonjour, où en est mon remboursement ?",
}


def test_anonymous_is_401(db):
    assert Client().get("/api/v1/me/threads").status_code == 401
    assert Client().post("/api/v1/me/threads", NEW, content_type="application/json").status_code == 401
    assert Client().get("/api/v1/messaging/threads").status_code == 401


def test_wrong_role_is_403(insured, agent_paris):
    _person, user = insured
    assert (
        client_for(agent_paris).post("/api/v1/me/threads", NEW, content_type="application/json").status_code
        == 403
    )
    assert client_for(user).get("/api/v1/messaging/threads").status_code == 403


def test_person_writes_reads_and_the_agent_answers(insured, agent_paris, agent_ain):
    person, user = insured
    app = client_for(user)
    pdf = base64.b64encode(make_pdf()).decode()
    response = app.post(
        "/api/v1/me/threads",
        {**NEW, "attachments": [{"name": "decompte.pdf", "content_base64": pdf}]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="app-1",
    )
    assert response.status_code == 201, response.content
    thread = response.json()["thread"]
    assert thread["status"] == "waiting" and thread["deadline"]
    assert response.json()["message"]["attachments"][0]["content_type"] == "application/pdf"
    replay = app.post(
        "/api/v1/me/threads",
        {**NEW, "attachments": []},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="app-1",
    )
    assert replay.status_code == 200 and replay.json()["thread"]["id"] == thread["id"]
    assert Message.objects.count() == 1 and Contact.objects.filter(person=person).count() == 1

    # The caisse's queue; another caisse does not see the thread.
    agent = client_for(agent_paris)
    assert [t["id"] for t in agent.get("/api/v1/messaging/threads").json()] == [thread["id"]]
    assert client_for(agent_ain).get(f"/api/v1/messaging/threads/{thread['id']}").status_code == 404
    assert client_for(agent_ain).get("/api/v1/messaging/threads").json() == []
    answered = agent.post(
        f"/api/v1/messaging/threads/{thread['id']}/answer",
        {"body": "C'est parti hier."},
        content_type="application/json",
    )
    assert answered.status_code == 201 and answered.json()["status"] == "answered"

    mine = app.get(f"/api/v1/me/threads/{thread['id']}").json()
    assert [m["direction"] for m in mine["messages"]] == ["inbound", "outbound"]
    assert mine["messages"][1]["read_at"] is None  # read by this very request: the next one shows it
    assert app.get(f"/api/v1/me/threads/{thread['id']}").json()["messages"][1]["read_at"] is not None
    assert app.get("/api/v1/me/threads").json()[0]["status"] == "answered"

    follow = app.post(
        f"/api/v1/me/threads/{thread['id']}/messages", {"body": "Merci !"}, content_type="application/json"
    )
    assert follow.status_code == 201 and follow.json()["thread"]["status"] == "waiting"
    closed = agent.post(
        f"/api/v1/messaging/threads/{thread['id']}/close",
        {"outcome": "resolved"},
        content_type="application/json",
    )
    assert closed.status_code == 200 and closed.json()["outcome"] == "resolved"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**NEW, "body": "x" * 5001}, "body"),
        ({**NEW, "body": ""}, "body"),
        ({**NEW, "motive": "nope"}, "motive"),
        ({**NEW, "link": "case:X"}, "link"),
        ({**NEW, "attachments": [{"name": "a.pdf", "content_base64": "%%%"}]}, "attachments.0"),
        ({**NEW, "attachments": [{"name": "a.zip", "content_base64": base64.b64encode(b"PK\x03\x04zz").decode()}]},
         "files"),
    ],
)  # fmt: skip
def test_bad_input_is_422_with_its_field(insured, payload, field):
    _person, user = insured
    response = client_for(user).post("/api/v1/me/threads", payload, content_type="application/json")
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not Thread.objects.exists() and not Contact.objects.exists()


def test_another_persons_thread_is_404(insured, ain_insured):
    _person, user = insured
    _other, other_user = ain_insured
    thread = (
        client_for(other_user)
        .post("/api/v1/me/threads", NEW, content_type="application/json")
        .json()["thread"]
    )
    app = client_for(user)
    assert app.get(f"/api/v1/me/threads/{thread['id']}").status_code == 404
    response = app.post(
        f"/api/v1/me/threads/{thread['id']}/messages", {"body": "hé"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert Message.objects.count() == 1


def test_closing_without_outcome_is_422(insured, agent_paris):
    _person, user = insured
    thread = (
        client_for(user).post("/api/v1/me/threads", NEW, content_type="application/json").json()["thread"]
    )
    response = client_for(agent_paris).post(
        f"/api/v1/messaging/threads/{thread['id']}/close", {"outcome": "meh"}, content_type="application/json"
    )
    assert response.status_code == 422 and "outcome" in response.json()["error"]["fields"]
    assert Thread.objects.get().status == "waiting"


def test_correcting_the_motive_over_the_api(insured, agent_paris, agent_ain):
    _person, user = insured
    thread = (
        client_for(user).post("/api/v1/me/threads", NEW, content_type="application/json").json()["thread"]
    )
    url = f"/api/v1/messaging/threads/{thread['id']}/motive"
    assert Client().post(url, {"motive": "css"}, content_type="application/json").status_code == 401
    assert client_for(user).post(url, {"motive": "css"}, content_type="application/json").status_code == 403
    assert (
        client_for(agent_ain).post(url, {"motive": "css"}, content_type="application/json").status_code == 404
    )
    bad = client_for(agent_paris).post(url, {"motive": "nope"}, content_type="application/json")
    assert bad.status_code == 422 and "motive" in bad.json()["error"]["fields"]
    done = client_for(agent_paris).post(url, {"motive": "css"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["motive"] == "css"
