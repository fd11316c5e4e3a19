"""An attacker's probes at the edge (issue 19), replayed on SQLite and PostgreSQL: control characters in everything
the platform reads, `next` after a login, the verification pages' headers, database errors through the API.

The control-character probes are generated from the OpenAPI document (every string parameter and every string of
every request body) and from the URL patterns (every form of every page, as each role sees it), so a new endpoint
or form is covered without a new test. See docs/security.md."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, DataError, IntegrityError, OperationalError, ProgrammingError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from omniguichet.cases.services import ingest_case_events
from omniguichet.core import staff_otp
from omniguichet.core.actors import Actor
from omniguichet.core.http import local_path
from omniguichet.core.services import issue_token
from omniguichet.referential.models import LOCAL_ROLES, Role
from omniguichet.wsgi import application
from tests.appointments.conftest import insured_login, make_site
from tests.cases.conftest import event
from tests.conftest import make_user
from tests.test_openapi_contract import bearer  # noqa: F401  (a fixture)

# NUL first (PostgreSQL cannot store it), then other C0 controls and DEL: each field gets the next one in turn.
CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\x08", "\x0b", "\x0c", "\x1f"]
PASSWORD = "Un-mot-de-passe-solide-2026"
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class Hostile:
    """Texts holding a control character, one of CONTROLS after the other."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"a{CONTROLS[(self.count - 1) % len(CONTROLS)]}b"


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if WRITES.match(q["sql"])]


# --- The API, from its OpenAPI document ------------------------------------------------------------------------


def _schema(schema: dict, components: dict) -> dict:
    if "$ref" in schema:
        return _schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _schema(options[0], components)
    return schema


def _fill(schema: dict, components: dict, path: str, names: list[str], hostile: Hostile, depth: int = 0):
    """A value for `schema` whose every string holds a control character; `names` gets the path of each."""
    schema = _schema(schema, components)
    kind = schema.get("type")
    if kind == "object" and depth < 4:
        properties = dict(schema.get("properties", {}))
        if not properties and isinstance(schema.get("additionalProperties"), dict):
            properties = {"field": schema["additionalProperties"]}
        return {
            name: _fill(sub, components, f"{path}.{name}" if path else name, names, hostile, depth + 1)
            for name, sub in properties.items()
        }
    if kind == "array" and depth < 4:
        return [
            _fill(
                schema.get("items", {}), components, f"{path}.0" if path else "0", names, hostile, depth + 1
            )
        ]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind in ("object", "array"):
        return None
    names.append(path or "body")
    return hostile()


def _operations(client: Client):
    document = client.get("/api/v1/openapi.json").json()
    components = document.get("components", {}).get("schemas", {})
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation, components


def _is_string(schema: dict, components: dict) -> bool:
    return _schema(schema, components).get("type") == "string"


def _url(path: str, parameters: list[dict], components: dict, hostile_path: Hostile | None = None) -> str:
    for parameter in parameters:
        if parameter["in"] == "path":
            text = _is_string(parameter.get("schema", {}), components)
            value = (hostile_path() if hostile_path else "x") if text else "1"
            path = path.replace("{" + parameter["name"] + "}", quote(value, safe=""))
    return path


def _query(parameters: list[dict], components: dict, names: list[str], hostile: Hostile) -> dict[str, object]:
    query: dict[str, object] = {}
    for parameter in parameters:
        if parameter["in"] != "query":
            continue
        schema = _schema(parameter.get("schema", {}), components)
        if schema.get("type") == "string":
            query[parameter["name"]] = hostile()
            names.append(parameter["name"])
        elif parameter.get("required"):
            query[parameter["name"]] = 1 if schema.get("type") in ("integer", "number") else "true"
    return query


def _requests(operation: dict, components: dict, hostile: Hostile):
    """(content type, body, names of the hostile fields) for each body the operation takes (none: one request)."""
    contents = operation.get("requestBody", {}).get("content", {})
    if not contents:
        yield None, None, []
    for content_type, content in contents.items():
        names: list[str] = []
        if content_type == "application/json":
            body = _fill(content["schema"], components, "", names, hostile)
            yield content_type, json.dumps(body), names
        elif content_type == "application/x-ndjson":
            row_names: list[str] = []
            good = _fill(content["schema"], components, "", [], lambda: "plain text")  # type: ignore[arg-type]
            bad = _fill(content["schema"], components, "", row_names, hostile)
            # The second row holds the control characters: fields are named by row, from 0.
            yield (
                content_type,
                json.dumps(good) + "\n\n" + json.dumps(bad) + "\n",
                [f"1.{n}" for n in row_names],
            )
        elif content_type == "multipart/form-data":
            schema = _schema(content["schema"], components)
            data: dict[str, object] = {}
            for name, sub in schema.get("properties", {}).items():
                sub = _schema(sub, components)
                if (
                    sub.get("type") == "array" or sub.get("format") == "binary"
                ):  # files: their content is not read
                    data[name] = SimpleUploadedFile(
                        "piece.pdf", b"%PDF-1.4\x00\x01\x1b binary", "application/pdf"
                    )
                elif sub.get("type") == "string":
                    data[name] = hostile()
                    names.append(name)
                else:
                    data[name] = "1"
            yield None, data, names


def _probe_api(
    client: Client, method: str, url: str, query: dict, content_type, body
) -> tuple[int, dict, list]:
    if query:
        url = f"{url}?{urlencode(query)}"
    with CaptureQueriesContext(connection) as queries:
        if body is None:
            response = getattr(client, method)(url)
        elif content_type is None:
            response = getattr(client, method)(url, body)  # multipart
        else:
            response = getattr(client, method)(url, body, content_type=content_type)
    payload = response.json() if response["Content-Type"].startswith("application/json") else {}
    return response.status_code, payload, writes(queries)


def test_control_characters_in_every_api_parameter_and_body_are_refused(supervisor):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=supervisor)[1]}")
    hostile = Hostile()
    probed: set[str] = set()
    for path, method, operation, components in _operations(client):
        parameters = operation.get("parameters", [])
        for content_type, body, body_names in _requests(operation, components, hostile):
            names: list[str] = []
            query = _query(parameters, components, names, hostile)
            names += body_names
            if not names:
                continue
            status, payload, written = _probe_api(
                client, method, _url(path, parameters, components), query, content_type, body
            )
            where = (method, path, content_type, query, body)
            assert status == 422, (where, payload)
            assert payload["error"]["code"] == "invalid", where
            assert set(names) <= set(payload["error"]["fields"]), (where, names, payload)
            assert not written, (where, written)
            probed.add(f"{method.upper()} {path} {content_type or ''}".strip())
    assert hostile.count > 60
    for expected in (
        "POST /api/v1/persons/{person_id}/contacts application/json",  # the probe of issue 19
        "POST /api/v1/contacts application/x-ndjson",
        "POST /api/v1/case-events application/x-ndjson",
        "POST /api/v1/documents/deposits",
        "POST /api/v1/teleservices/{code} application/json",
        "GET /api/v1/persons/search",
    ):
        assert expected in probed, (expected, sorted(probed))


def test_control_characters_in_api_path_parameters_are_refused(supervisor):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=supervisor)[1]}")
    hostile = Hostile()
    probed = 0
    for path, method, operation, components in _operations(client):
        parameters = operation.get("parameters", [])
        if not any(p["in"] == "path" and _is_string(p.get("schema", {}), components) for p in parameters):
            continue
        probed += 1
        url = _url(path, parameters, components, hostile)
        status, payload, written = _probe_api(client, method, url, {}, "application/json", "{}")
        assert status == 422 and "path" in payload["error"]["fields"], (url, payload)
        assert not written
    assert probed >= 1


def test_tab_and_line_breaks_are_still_accepted_in_a_note(supervisor, make_person):
    person = make_person()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=supervisor)[1]}")
    note = "Appel :\tdemande d'attestation\r\nrappel prévu\nfin — ü"
    body = {"channel": "phone", "direction": "inbound", "motive": "autre", "note": note}
    response = client.post(f"/api/v1/persons/{person.pk}/contacts", body, content_type="application/json")
    assert response.status_code == 201, response.content
    from omniguichet.crm.models import Contact

    assert Contact.objects.get(person=person).note == note


def test_the_refusal_names_the_field_and_the_character_in_french(supervisor):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=supervisor)[1]}", HTTP_ACCEPT_LANGUAGE="fr")
    response = client.get("/api/v1/persons/search", {"q": "a\x00b", "limit": 5})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"q": "ne doit pas contenir le caractère de contrôle U+0000"}
    # A key holding one is named with the character escaped; a raw one in a JSON string is found too.
    response = client.post(
        "/api/v1/persons", b'{"n\\u001bx": 1, "a": ["ok", "b\x01"]}', content_type="text/plain"
    )
    assert set(response.json()["error"]["fields"]) == {"n\\u001bx", "a.1"}
    # Unparseable JSON and binary bodies: still no server error, and the content of a binary body is not read.
    response = client.post("/api/v1/persons", b"\x00{", content_type="application/json")
    assert response.status_code == 422 and "body" in response.json()["error"]["fields"]
    response = client.post("/api/v1/persons", b"\x00\x01binary", content_type="application/octet-stream")
    assert response.status_code == 422 and "body" in response.json()["error"]["fields"]  # ninja: not JSON


def test_an_oversized_body_is_still_answered_413_in_the_api_format(supervisor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=supervisor)[1]}")
    response = client.post("/api/v1/documents/deposits", {"purpose_kind": "x" * 4096})
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


# --- Pages: every form of every URL pattern, as each role sees it -------------------------------------------------


class Forms(HTMLParser):
    """The forms of a page: method, action, enctype, and the names of their controls."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = "post" if a.get("hx-post") else a.get("method", "get").lower()
            action = a.get("action") or a.get("hx-post") or a.get("hx-get") or ""
            self._current = {
                "method": method,
                "action": action,
                "enctype": a.get("enctype", ""),
                "fields": {},
            }
            self.forms.append(self._current)
        elif tag in ("input", "textarea", "select", "button") and self._current is not None:
            name = a.get("name", "")
            if name not in ("", "csrfmiddlewaretoken"):
                self._current["fields"][name] = a.get("type", tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _routes(resolver=None, prefix: str = ""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + str(pattern.pattern), pattern.name


# Pages left out: the API (probed above from its document), Django's admin, and pages whose GET ends a session.
SKIPPED_PREFIXES = ("/api/", "/admin/")
SKIPPED_NAMES = {
    "logout",
    "oidc_logout",
    "kiosk_end",
    "oidc_authentication_init",
    "oidc_authentication_callback",
}


# Who sees each part of the site (the first matching prefix); each page is fetched as each of its roles.
ROLES = [
    ("/compte/", ["anonymous", "insured"]),
    ("/borne/", ["anonymous", "kiosk"]),
    ("/analytics/", ["manager", "national_supervisor"]),
    ("/reception/", ["reception_agent", "manager"]),
    ("/agent/", ["anonymous", "reception_agent", "backoffice_agent", "phone_agent", "manager"]),
    ("/", ["anonymous"]),
]


def _urls(values: dict[str, list[str]]):
    """Every page URL with the roles that see it, each parameter of its route filled with the values known for
    its name (or for its name under a prefix: "/analytics/ code")."""
    for route, name in _routes():
        if route.startswith(SKIPPED_PREFIXES) or name in SKIPPED_NAMES:
            continue
        urls = [route]
        for parameter in re.findall(r"<(?:\w+:)?(\w+)>", route):
            scoped = [v for k, v in values.items() if " " in k and (route.startswith(k.split()[0]))
                      and k.split()[1] == parameter]  # fmt: skip
            known = scoped[0] if scoped else values.get(parameter, [])
            urls = [re.sub(r"<(?:\w+:)?" + parameter + ">", v, u, count=1) for u in urls for v in known]
        roles = next(r for prefix, r in ROLES if route.startswith(prefix))
        for url in urls:
            yield url, roles


@pytest.fixture
def world(make_person, caisse_paris, settings, tmp_path):
    """A Paris person with an online account, the staff of their caisse, a reception site: what the pages need
    to show their forms. Returns the clients of each role and the values of the URL parameters."""
    from omniguichet.teleservices.services import CATALOGUE

    settings.OUTREACH_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTREACH_SMS_PROVIDER = "file"
    person = make_person(postcode="75011", city="Paris", address_line="3 rue des Lilas")
    user = insured_login(person)
    user.set_password(PASSWORD)
    user.save()
    staff = {role: make_user(f"{role}-paris", role=role, caisse=caisse_paris) for role in LOCAL_ROLES}
    site = make_site(caisse_paris, list(staff.values()))
    staff[Role.NATIONAL_SUPERVISOR] = make_user("national-edge", role=Role.NATIONAL_SUPERVISOR)
    # A case awaiting a document: the deposit forms show.
    past = timezone.now() - dt.timedelta(days=2)
    ingest_case_events(actor=Actor.system("backoffice"), source="test", rows=[
        event("IJ-K1", 1, "opened", {"person_id": person.pk, "case_type": "sick_pay"}, occurred_at=past),
        event("IJ-K1", 2, "document_missing", {"document": "rib", "label": "RIB"}, occurred_at=past),
    ])  # fmt: skip
    users = {"insured": user, **{str(role): who for role, who in staff.items()}}

    def client_of(role: str) -> Client:
        client = Client()
        if role == "kiosk":
            assert (
                client.post("/borne/connexion/", {"nir": person.nir, "password": PASSWORD}).status_code == 302
            )
        elif role != "anonymous":
            client.force_login(users[role])
        return client

    values = {
        "person_id": [str(person.pk)],
        "site_id": [str(site.pk)],
        "code": [*CATALOGUE, "751", "rib"],
        "/analytics/ code": ["751"],
        "/rendez-vous/ code": ["ABCD1234"],
        "reference": ["IJ-K1"],
        "table": ["contacts"],
    }
    from omniguichet.baskets.models import Basket

    values["basket_id"] = [
        str(pk) for pk in Basket.objects.filter(caisse=caisse_paris).values_list("pk", flat=True)[:2]
    ]
    return client_of, values, person


def _post_hostile(client: Client, page: str, form: dict, hostile: Hostile):
    url = urljoin(page, form["action"] or page)
    data: dict[str, object] = {}
    for name, kind in form["fields"].items():
        if kind == "file":
            data[name] = SimpleUploadedFile("piece.pdf", b"%PDF-1.4 binary \x00\x01", "application/pdf")
        else:
            data[name] = hostile()
    with CaptureQueriesContext(connection) as queries:
        if form["method"] == "get":
            response = client.get(url.split("?")[0], data)
        elif form["enctype"] == "multipart/form-data" or "file" in form["fields"].values():
            response = client.post(url, data)  # the test client sends multipart/form-data
        else:
            body = urlencode(data, doseq=True)
            response = client.post(url, body, content_type="application/x-www-form-urlencoded")
    return url, response, writes(queries)


def test_control_characters_in_every_field_of_every_form_are_refused(world):
    client_of, values, person = world
    clients = {role: client_of(role) for prefix, roles in ROLES for role in roles}
    hostile = Hostile()
    probed: set[str] = set()
    seen: set[tuple] = set()
    for url, roles in _urls(values):
        for role in roles:
            client = clients[role]
            response = client.get(url, follow=True)  # e.g. a case's missing piece leads to the deposit form
            if role != "anonymous" and "_auth_user_id" not in client.session:  # a page ended the session
                clients[role] = client = client_of(role)
                response = client.get(url, follow=True)
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue
            page = response.redirect_chain[-1][0] if response.redirect_chain else url
            parser = Forms()
            parser.feed(response.content.decode())
            for form in parser.forms:
                fields = [n for n, kind in form["fields"].items() if kind not in ("file", "submit")]
                key = (urljoin(page, form["action"] or page), form["method"], tuple(sorted(fields)))
                if not fields or key in seen:
                    continue
                seen.add(key)
                target, refused, written = _post_hostile(client, page, form, hostile)
                where = (role, page, form)
                assert refused.status_code == 422, (where, refused.status_code, refused.content[:300])
                text = refused.content.decode()
                for name in fields:
                    assert f"<code>{html.escape(name)}</code>" in text, (where, name)
                assert not written, (where, written)
                probed.add(f"{form['method'].upper()} {urlsplit(target).path}")
    for expected in (
        f"POST /agent/persons/{person.pk}/contacts/",  # the agent console's contact form of issue 19
        "POST /agent/login/",
        "POST /compte/connexion/",
        "POST /compte/activation/",
        "POST /compte/preferences/",
        "POST /compte/documents/depot/",
        "POST /borne/connexion/",
        "GET /agent/search/",
    ):
        assert expected in probed, (expected, sorted(probed))
    # The reception desk's call-next (the site's id differs on PostgreSQL, where sequences are not reset).
    assert any(re.fullmatch(r"POST /reception/\d+/call-next", p) for p in probed), sorted(probed)
    assert len(probed) >= 20, sorted(probed)


def test_the_refusal_page_is_french(db, settings):
    settings.LANGUAGE_CODE = "fr"
    response = Client().post("/agent/login/", {"username": "agent\x00", "password": "x"})
    assert response.status_code == 422
    text = response.content.decode()
    assert "Caractères refusés" in text and "<code>username</code>" in text and "U+0000" in text


# --- Redirects after a login ------------------------------------------------------------------------------------

HOSTILE_NEXT = ["x y", "abc(", "(", "%2F%2F", "//evil.example", "https://evil.example/", "/\\evil.example",
                "/\t/evil.example", "javascript:alert(1)"]  # fmt: skip


def _next_variants(value: str):
    """`next` posted with the form, and in the query string as an attacker would write it (%2F%2F stays encoded
    in the URL, so it arrives as "//")."""
    yield "", {"next": value}
    yield "?next=" + quote(value, safe="%/:"), {}


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_insured_login_ignores_a_next_that_is_not_a_local_path(make_person, value):
    person = make_person()
    user = insured_login(person)
    user.set_password(PASSWORD)
    user.save()
    for query, extra in _next_variants(value):
        client = Client()
        response = client.post(
            f"/compte/connexion/{query}", {"nir": person.nir, "password": PASSWORD, **extra}
        )
        assert response.status_code == 302, (value, response.status_code)
        assert response["Location"] == "/compte/", value


SECOND_STEP_TO_CONSOLE = "/agent/login/code/?next=%2Fagent%2F"


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_agent_login_ignores_a_next_that_is_not_a_local_path(agent_paris, value):
    for query, extra in _next_variants(value):
        client = Client()
        data = {"username": "agent-paris", "password": "not-used-here-123", **extra}
        response = client.post(f"/agent/login/{query}", data)
        assert response.status_code == 302, (value, response.status_code)
        # The password is right: on to the second factor, with the way back reduced to the default page.
        assert response["Location"] == SECOND_STEP_TO_CONSOLE, value
        # Already logged in: the login page sends the agent on, by the same rule.
        again = client.get(f"/agent/login/?next={quote(value, safe='%/:')}")
        assert again.status_code == 302 and again["Location"] == "/agent/", value
    # The second step's own `next` follows the same rule (once: a TOTP code is good for one use).
    code = staff_otp.current_code(staff_otp.device_for(agent_paris).device)
    done = client.post(f"/agent/login/code/?next={quote(value, safe='%/:')}", {"code": code})
    assert done.status_code == 302 and done["Location"] == "/agent/", value


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_other_next_takers_neither_fail_nor_leave_the_site(supervisor, agent_paris, value):
    """The admin login (Django's own view) and the agent logout."""
    supervisor.is_staff = supervisor.is_superuser = True
    supervisor.set_password(PASSWORD)
    supervisor.save()
    device = staff_otp.set_device(user=supervisor, key_hex="3132333435363738393031323334353637383930")
    response = Client().post(
        "/admin/login/",
        {"username": supervisor.username, "password": PASSWORD, "next": value, "otp_device": device.persistent_id,
         "otp_token": staff_otp.current_code(device)},
    )  # fmt: skip
    assert response.status_code == 302 and not urlsplit(response["Location"]).netloc, response["Location"]
    client = Client()
    client.force_login(agent_paris)
    response = client.post("/agent/logout/", {"next": value})
    assert response.status_code == 302 and response["Location"] == "/agent/login/", value


def test_local_next_paths_are_honoured(make_person, agent_paris):
    person = make_person()
    user = insured_login(person)
    user.set_password(PASSWORD)
    user.save()
    response = Client().post(
        "/compte/connexion/?next=/compte/rendez-vous/%3Fx%3D1",
        {"nir": person.nir, "password": PASSWORD},
    )
    assert response["Location"] == "/compte/rendez-vous/?x=1"
    response = Client().post(
        "/compte/connexion/", {"nir": person.nir, "password": PASSWORD, "next": "/compte/preferences/"}
    )
    assert response["Location"] == "/compte/preferences/"
    response = Client().post(
        "/agent/login/",
        {"username": "agent-paris", "password": "not-used-here-123", "next": "/agent/search/?q=x"},
    )
    assert response["Location"] == "/agent/login/code/?next=%2Fagent%2Fsearch%2F%3Fq%3Dx"
    # A page of the account sends an anonymous visitor to the login page with the way back, encoded.
    response = Client().get("/compte/preferences/", {"a": "1", "b": "2"})
    assert response["Location"] == "/compte/connexion/?next=%2Fcompte%2Fpreferences%2F%3Fa%3D1%26b%3D2"


def test_franceconnect_return_honours_only_a_local_next(rf):
    from django.contrib.sessions.backends.cache import SessionStore

    from omniguichet.accounts.views import FranceConnectCallbackView

    for value, expected in [
        *((v, "/compte/") for v in HOSTILE_NEXT),
        ("/compte/dossiers/", "/compte/dossiers/"),
    ]:
        request = rf.get("/compte/franceconnect/callback/")
        request.session = SessionStore()
        request.session["oidc_login_next"] = value
        view = FranceConnectCallbackView()
        view.request = request
        assert view.success_url == expected, value


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/compte/", "/compte/"), ("/a/b?c=d#e", "/a/b?c=d#e"), ("/", "/"), ("", None), (None, None),
     ("//evil.example", None), ("/\\evil.example", None), ("/x\x00", None), ("/x y", None),
     ("http://testserver/compte/", None), ("compte/", None), ("%2F%2F", None), ("///evil", None)],
)  # fmt: skip
def test_local_path(value, expected):
    assert local_path(value) == expected


# --- Verification pages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/verify/", "/verify/?code=ABCD", "/verify/UNKNOWN-CODE"])
def test_verification_pages_are_neither_cached_nor_indexed(db, url):
    response = Client().get(url)
    assert response.status_code in (200, 404)
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]


# --- Database errors through the API ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (DataError("value too long for type character varying(3)"), 422, "invalid"),
        (IntegrityError("duplicate key value violates unique constraint"), 409, "conflict"),
        (OperationalError("database is locked"), 503, "unavailable"),
        (ProgrammingError("relation does not exist"), 500, "server_error"),
        (DatabaseError("anything else"), 500, "server_error"),
        (RuntimeError("a bug"), 500, "server_error"),
    ],
)
def test_a_database_error_answers_in_the_api_format(supervisor, monkeypatch, error, status, code):
    _token, secret = issue_token(user=supervisor)

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr("omniguichet.core.api.authenticate_token", failing)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)
    response = client.get("/api/v1/me")
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert str(error) not in response.content.decode()  # the database's own words stay in the log


def test_a_real_database_error_answers_in_the_api_format(supervisor, monkeypatch):
    """A statement the database itself refuses (a missing table): OperationalError on SQLite, ProgrammingError
    on PostgreSQL, both answered in JSON."""
    _token, secret = issue_token(user=supervisor)

    def failing(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM og_no_such_table")

    monkeypatch.setattr("omniguichet.core.api.authenticate_token", failing)
    from django.db import transaction

    with transaction.atomic():  # PostgreSQL aborts the transaction: keep the test's own usable
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)
        response = client.get("/api/v1/me")
        transaction.set_rollback(True)
    assert response.status_code in (500, 503)
    assert response.json()["error"]["code"] in ("server_error", "unavailable")


# --- Schemathesis, every generated string laced with control characters ------------------------------------------

hostile_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
_lace = Hostile()


def _laced(value: object) -> object:
    if isinstance(value, str):
        return value[:1] + _lace()[1] + value[1:]
    if isinstance(value, dict):
        return {key: _laced(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_laced(item) for item in value]
    return value


@hostile_schema.hook
def map_case(context, case):
    """Schemathesis finds a NUL only by chance: every string of the case gets one of CONTROLS."""
    case.query = _laced(case.query) if case.query else case.query
    case.path_parameters = _laced(case.path_parameters) if case.path_parameters else case.path_parameters
    if isinstance(case.body, dict | list | str):
        case.body = _laced(case.body)
    return case


@hostile_schema.parametrize()
@hypothesis_settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_control_characters_in_generated_requests_never_make_a_server_error(case, bearer):  # noqa: F811
    response = case.call_and_validate(headers=bearer, checks=[not_a_server_error])
    if response.status_code == 422:  # the refusal, in the API's error format
        assert "error" in response.json(), response.text[:300]


def test_json_short_escapes_of_control_characters_are_refused_before_the_view(supervisor):
    """JSON's \\b and \\f are control characters too: refused by the middleware like \\u0008, with the field
    named, before authentication writes anything."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=supervisor)[1]}")
    for escape in ("\\b", "\\f"):
        body = '{"outcome": "a' + escape + 'b"}'
        status, payload, written = _probe_api(
            client, "post", "/api/v1/messaging/threads/1/close", {}, "application/json", body
        )
        assert status == 422 and "outcome" in payload["error"]["fields"], payload
        assert not written
    # An escaped backslash before a "b" is ordinary text: let through to the view (404: no such thread).
    status, _payload, _written = _probe_api(
        client, "post", "/api/v1/messaging/threads/1/answer", {}, "application/json", '{"body": "C:\\\\bin"}'
    )
    assert status == 404
