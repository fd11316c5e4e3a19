"""An agent of one caisse cannot read, find or write any person of another caisse through any endpoint or page;
the national role sees them all."""

import pytest
from django.test import Client

from omniguichet.crm.models import Contact, RecordAccess
from omniguichet.referential.models import ContactPoint
from tests.crm.conftest import client_for


def probes(person):
    nir = person.nir
    pid = person.pk
    return [
        ("get", f"/api/v1/persons/{pid}/record", {"purpose": "x"}, None),
        ("get", f"/api/v1/persons/{pid}/timeline", {}, None),
        ("post", f"/api/v1/persons/{pid}/contacts", {"channel": "phone", "motive": "autre"}, None),
        ("post", f"/api/v1/persons/{pid}/contact-points", {"kind": "email", "value": "x@y.example"}, None),
        ("get", "/api/v1/persons/search", {"q": nir}, "search"),
        ("get", "/api/v1/persons/search", {"q": f"{nir[:7]} 03/12/1984"}, "search"),
        ("get", "/api/v1/persons/search", {"q": "lefevre 03/12/1984"}, "search"),
        ("get", "/api/v1/persons/search", {"q": person.contact_points.get(kind="mobile").value}, "search"),
        (
            "post",
            "/api/v1/contacts",
            [
                {
                    "external_id": "x1",
                    "person_id": pid,
                    "channel": "phone",
                    "direction": "inbound",
                    "motive": "autre",
                    "started_at": "2026-01-05T10:00:00+01:00",
                }
            ],
            "ingest",
        ),
        (
            "post",
            "/api/v1/contacts",
            [
                {
                    "external_id": "x2",
                    "nir": nir,
                    "channel": "phone",
                    "direction": "inbound",
                    "motive": "autre",
                    "started_at": "2026-01-05T10:00:00+01:00",
                }
            ],
            "ingest",
        ),
        ("get", f"/admin/referential/person/{pid}/change/", None, "page"),
        ("get", "/admin/referential/person/", {"q": nir}, "page"),
    ]


def call(client, method, url, data):
    if method == "get":
        return client.get(url, data or {})
    return client.post(url, data, content_type="application/json")


def test_an_agent_never_reaches_another_caisses_person(paris_person, ain_person, agent_ain):
    client = client_for(agent_ain)
    client.force_login(agent_ain)  # the pages too, with a session
    for method, url, data, kind in probes(paris_person):
        response = call(client, method, url, data)
        if kind == "search":
            assert response.status_code == 200 and paris_person.pk not in [
                p["id"] for p in response.json()
            ], url
        elif kind == "ingest":
            assert response.json()["results"][0]["errors"] in (
                {"person_id": "unknown person"},
                {"nir": "unknown person"},
            ), url
        elif kind == "page":
            assert response.status_code == 302 and "/login/" in response["Location"], url  # not admin staff
        else:
            assert response.status_code == 404, (url, response.status_code)
    assert not Contact.objects.filter(person=paris_person).exists()
    assert not ContactPoint.objects.filter(person=paris_person, value="x@y.example").exists()
    assert not RecordAccess.objects.filter(person=paris_person).exists()


def test_the_same_probes_succeed_for_the_own_caisse_and_nationally(paris_person, agent_paris, supervisor):
    for user in (agent_paris, supervisor):
        client = client_for(user)
        for method, url, data, kind in probes(paris_person):
            if kind == "page" or url.endswith("/timeline"):
                continue
            if url.endswith("/contact-points"):
                data = {**data, "value": f"{user.username}@y.example"}
            if kind == "ingest":
                data = [{**data[0], "external_id": f"{data[0]['external_id']}-{user.username}"}]
            response = call(client, method, url, data)
            assert response.status_code in (200, 201), (user, url, response.content)
            if kind == "search":
                assert paris_person.pk in [p["id"] for p in response.json()], url
            if kind == "ingest":
                assert response.json()["created"] == 1


@pytest.mark.parametrize("path", ["/api/v1/persons/search?q=x", "/api/v1/motives", "/api/v1/contacts"])
def test_anonymous_is_refused_everywhere(db, path):
    response = (
        Client().get(path)
        if "contacts" not in path
        else Client().post(path, [], content_type="application/json")
    )
    assert response.status_code == 401
