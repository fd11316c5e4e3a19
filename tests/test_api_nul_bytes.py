"""A NUL byte in any string query parameter or JSON body field of the API is a client error, never a server
error (PostgreSQL refuses NUL in text parameters; schemathesis only finds such a case by chance)."""

import datetime as dt
import json
import re

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


def _body(schema: dict, components: dict, depth: int = 0) -> object:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), schema["anyOf"][0])
        return _body(schema, components, depth)
    kind = schema.get("type")
    if kind == "object" and depth < 3:
        return {name: _body(sub, components, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array" and depth < 3:
        return [_body(schema.get("items", {}), components, depth + 1)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return str(dt.date.today())
    if schema.get("format") == "date-time":
        return dt.datetime.now(dt.UTC).isoformat()
    return NUL


@pytest.mark.parametrize("who", ["supervisor", "insured"])
def test_nul_bytes_in_json_bodies_are_refused_cleanly(who, supervisor, make_person):
    person = make_person()
    user = insured_login(person) if who == "insured" else supervisor
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=user)[1]}")
    document = client.get("/api/v1/openapi.json").json()
    components = document.get("components", {}).get("schemas", {})
    probed = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if method not in ("post", "put", "patch") or content is None:
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            body = _body(content["schema"], components)
            probed += 1
            response = getattr(client, method)(url, json.dumps(body), content_type="application/json")
            assert response.status_code < 500, (method, url, body, response.content[:300])
    assert probed >= 5
