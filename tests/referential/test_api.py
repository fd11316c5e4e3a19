"""Endpoint pattern: anonymous -> 401, wrong role or other caisse -> 403/404, then valid and invalid cases."""

import pytest
from django.test import Client

from omniguichet.core.services import issue_token
from omniguichet.referential.models import ContactPoint, Person
from tests.conftest import make_user, person_data


def client_for(user) -> Client:
    _token, secret = issue_token(user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def person_json(**overrides):
    data = person_data(**overrides)
    data["caisse"] = data.pop("caisse_code")
    data["birth_date"] = data["birth_date"].isoformat()
    return data


def test_caisses_lists_the_101_local_funds(agent_paris):
    assert Client().get("/api/v1/caisses").status_code == 401
    response = client_for(agent_paris).get("/api/v1/caisses")
    assert response.status_code == 200
    codes = [c["code"] for c in response.json()]
    assert len(codes) == 101 and len(set(codes)) == 101
    assert {"011", "751", "2A1", "2B1", "595"} <= set(codes)
    assert next(c for c in response.json() if c["code"] == "751")["name"] == "CPAM de Paris"


def test_create_person_requires_a_token(db):
    response = Client().post("/api/v1/persons", person_json(), content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_create_person_refuses_a_login_without_staff_role(db):
    insured_login = make_user("someone", role="")
    response = client_for(insured_login).post(
        "/api/v1/persons", person_json(), content_type="application/json"
    )
    assert response.status_code == 403
    assert Person.objects.count() == 0


def test_create_person_in_another_caisse_is_forbidden(agent_ain):
    response = client_for(agent_ain).post("/api/v1/persons", person_json(), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["fields"] == {"caisse": "not your caisse"}
    assert Person.objects.count() == 0


def test_create_person_valid_then_duplicate(agent_paris):
    client = client_for(agent_paris)
    body = person_json()
    body["nir"] = " ".join([body["nir"][:1], body["nir"][1:3], body["nir"][3:13], body["nir"][13:]])
    response = client.post("/api/v1/persons", body, content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["caisse"] == "751"
    assert created["nir_masked"].startswith("2 84 12") and created["nir_masked"].endswith("••")
    assert Person.objects.get(pk=created["id"]).nir == body["nir"].replace(" ", "")
    again = client.post("/api/v1/persons", body, content_type="application/json")
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "conflict",
        "message": "a person with this NIR already exists",
        "fields": {"nir": "already registered"},
    }


def test_create_person_reports_bad_fields(agent_paris):
    client = client_for(agent_paris)
    body = person_json()
    body["nir"] = body["nir"][:13] + ("01" if body["nir"][13:] != "01" else "02")
    response = client.post("/api/v1/persons", body, content_type="application/json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["nir"].startswith("the key ") and "expected" in error["fields"]["nir"]
    # Schema errors use the same format and name the field.
    response = client.post(
        "/api/v1/persons", {**person_json(), "birth_date": "31/12/1984"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "birth_date" in response.json()["error"]["fields"]
    assert Person.objects.count() == 0


@pytest.fixture
def person_paris(make_person):
    return make_person()


def test_add_contact_point_scoping_and_conflict(person_paris, agent_paris, agent_ain, supervisor):
    url = f"/api/v1/persons/{person_paris.pk}/contact-points"
    payload = {"kind": "mobile", "value": "06 12 34 56 78", "verified": True}
    assert Client().post(url, payload, content_type="application/json").status_code == 401
    # Another caisse's person looks exactly like a missing one.
    other = client_for(agent_ain).post(url, payload, content_type="application/json")
    missing = client_for(agent_ain).post(
        "/api/v1/persons/999999/contact-points", payload, content_type="application/json"
    )
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    created = client_for(agent_paris).post(url, payload, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["value"] == "+33612345678"
    second_person = Person.objects.create(**{**_identity_of_new_person(), "caisse_id": "751"})
    conflict = client_for(supervisor).post(
        f"/api/v1/persons/{second_person.pk}/contact-points", payload, content_type="application/json"
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["fields"] == {"value": "already verified for another account"}
    assert ContactPoint.objects.count() == 1


def _identity_of_new_person():
    data = person_data(birth_date=__import__("datetime").date(1990, 5, 6))
    data.pop("caisse_code")
    return data


def test_employer_and_professional_validation(agent_paris):
    client = client_for(agent_paris)
    bad = client.post(
        "/api/v1/employers",
        {"siret": "73282932000075", "name": "ACME", "caisse": "751"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {"siret": "the check digit does not match (Luhn)"}
    good = client.post(
        "/api/v1/employers",
        {"siret": "732 829 320 00074", "name": "ACME", "caisse": "751"},
        content_type="application/json",
    )
    assert good.status_code == 201 and good.json()["siret"] == "73282932000074"
    bad = client.post(
        "/api/v1/professionals",
        {
            "rpps": "1234567890",
            "given_names": "A",
            "family_name": "B",
            "profession": "nurse",
            "caisse": "751",
        },
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {"rpps": "must have 11 digits, got 10"}


def test_openapi_document_is_served(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/persons", "/api/v1/caisses", "/api/v1/me"} <= set(paths)


def test_query_counts_do_not_grow_with_the_data(agent_paris, make_person, django_assert_num_queries):
    client = client_for(agent_paris)
    client.get("/api/v1/me")  # the first call also records last_used_at
    # token lookup (with user and caisse) + the caisses
    with django_assert_num_queries(2):
        assert client.get("/api/v1/caisses").status_code == 200
    person = make_person()
    url = f"/api/v1/persons/{person.pk}/contact-points"
    # token, person (scoped), savepoint + insert + release
    with django_assert_num_queries(5):
        response = client.post(
            url, {"kind": "email", "value": "a@b.example"}, content_type="application/json"
        )
    assert response.status_code == 201


def test_an_unparseable_body_is_bad_input_on_the_body_field(agent_paris):
    response = client_for(agent_paris).post("/api/v1/persons", b"\x00{", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid" and "body" in response.json()["error"]["fields"]
