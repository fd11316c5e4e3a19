import json

from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.telephony.models import Call, CallEvent
from tests.crm.conftest import client_for
from tests.telephony.conftest import call_lines, new_call_id

URL = "/api/v1/telephony/events"


def post(client, rows, content_type="application/x-ndjson"):
    if content_type == "application/x-ndjson":
        body = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows)
    else:
        body = json.dumps(rows)
    return client.post(URL, body, content_type=content_type)


def test_anonymous_is_401(db):
    response = Client().post(URL, "", content_type="application/x-ndjson")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_wrong_role_is_403(phone_agent, paris_person):
    response = post(client_for(phone_agent), call_lines(new_call_id()))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not CallEvent.objects.exists()


def test_an_insured_person_is_403(make_person):
    from django.utils import timezone

    from omniguichet.accounts.models import Account
    from omniguichet.referential.models import User

    person = make_person()
    user = User.objects.create_user(username=person.nir, password="not-used-here-123")
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    assert post(client_for(user), call_lines(new_call_id())).status_code == 403


def test_ndjson_batch_with_per_line_results(platform, paris_person, phone_agent):
    call_id = new_call_id()
    rows = [
        *call_lines(call_id),
        "{not json",
        {"call_id": "x", "event": "ring", "at": "2026-01-01T00:00:00Z"},
    ]
    response = post(client_for(platform), rows)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stored"], body["errors"], body["ended"]) == (5, 2, 1)
    assert [r["line"] for r in body["results"]] == [1, 2, 3, 4, 5, 6, 7]
    assert body["results"][0] == {
        "line": 1,
        "call_id": call_id,
        "event": "new",
        "status": "stored",
        "error": None,
    }
    assert "line" in body["results"][5]["error"]["fields"]
    assert body["results"][6]["error"]["fields"]["event"].startswith("unknown event")
    assert Contact.objects.get().answered is True
    replay = post(client_for(platform), rows).json()
    assert (replay["stored"], replay["duplicates"], replay["errors"]) == (0, 5, 2)
    assert Contact.objects.count() == 1 and Call.objects.count() == 1


def test_json_array_and_held_lines(platform, paris_person, phone_agent):
    new, ivr, queued, answer, hangup = call_lines(new_call_id())
    client = client_for(platform)
    held = post(client, [answer, hangup], "application/json").json()
    assert [r["status"] for r in held["results"]] == ["held", "held"]
    done = post(client, [new, ivr, queued], "application/json").json()
    assert (done["stored"], done["released"], done["ended"]) == (3, 2, 1)


def test_unknown_agent_is_named(platform, paris_person):
    rows = call_lines(new_call_id(), agent="ghost")
    body = post(client_for(platform), rows).json()
    answer = body["results"][3]
    assert answer["status"] == "error" and "ghost" in answer["error"]["fields"]["agent"]


def test_too_many_lines_is_422_on_body(platform):
    rows = ['{"call_id": "c", "event": "new", "at": "2026-01-01T00:00:00Z"}'] * 10_001
    response = post(client_for(platform), rows)
    assert response.status_code == 422
    assert "body" in response.json()["error"]["fields"]
    assert not CallEvent.objects.exists()


def test_a_body_that_is_not_an_array(platform):
    response = post(client_for(platform), {"call_id": "c"}, "application/json")
    assert response.status_code == 422
    assert "body" in response.json()["error"]["fields"]


def test_french_messages(platform):
    client = client_for(platform)
    body = client.post(URL, '{"call_id": "c", "event": "ring", "at": "2026-01-01T00:00:00Z"}',
                       content_type="application/x-ndjson", HTTP_ACCEPT_LANGUAGE="fr").json()  # fmt: skip
    assert "événement inconnu" in body["results"][0]["error"]["fields"]["event"]


def test_a_form_or_multipart_body_is_refused_on_body(platform):
    client = client_for(platform)
    response = client.generic("POST", URL, b"--x\r\n", content_type="multipart/form-data")
    assert response.status_code == 422 and "body" in response.json()["error"]["fields"]
    response = client.generic("POST", URL, b"call_id=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert "application/x-ndjson" in response.json()["error"]["fields"]["body"]
