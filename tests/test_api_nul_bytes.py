"""A NUL byte in any string parameter of the API is a client error, never a server error (PostgreSQL refuses NUL
in text parameters; schemathesis only finds such a case by chance)."""

import datetime as dt

import pytest
from django.test import Client

from omniguichet.core.services import issue_token
from tests.appointments.conftest import insured_login

NUL = "a\x00b"


def _value(schema: dict) -> object:
    kind = schema.get("type") or next((s.get("type") for s in schema.get("anyOf", []) if s.get("type")), "")
    if kind == "integer":
        return 1
    if kind == "boolean":
        return "true"
    if schema.get("format") == "date" or any(s.get("format") == "date" for s in schema.get("anyOf", [])):
        return str(dt.date.today())
    return NUL


def _get_operations(client: Client) -> list[tuple[str, list[dict]]]:
    document = client.get("/api/v1/openapi.json").json()
    return [
        (path, operation.get("parameters", []))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method == "get"
    ]


@pytest.mark.parametrize("who", ["supervisor", "insured"])
def test_nul_bytes_in_parameters_are_refused_cleanly(who, supervisor, make_person):
    person = make_person()
    user = insured_login(person) if who == "insured" else supervisor
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=user)[1]}")
    probed = 0
    for path, parameters in _get_operations(client):
        query = {}
        for parameter in parameters:
            value = _value(parameter.get("schema", {}))
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}", str(value if value != NUL else "x"))
            elif parameter["in"] == "query":
                query[parameter["name"]] = value
        if NUL not in query.values():
            continue
        probed += 1
        response = client.get(path, query)
        assert response.status_code < 500, (path, query, response.content[:300])
    assert probed >= 7  # the probe reached the API's string query parameters


def test_the_refusal_names_the_field_in_french_and_pages_answer_400(supervisor):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=supervisor)[1]}", HTTP_ACCEPT_LANGUAGE="fr")
    response = client.get("/api/v1/persons/search", {"q": NUL, "limit": 5})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"q": "ne doit pas contenir de caractère NUL"}
    page = Client().get("/agent/", {"q": NUL})
    assert page.status_code == 400 and "q" in page.content.decode()
