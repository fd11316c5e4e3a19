"""The smallest complete service of docs/teleservices.md, declared the way a catalogue module declares one, is
offered and used on the web account and the app API with no other change: adding a service is adding a module."""

from __future__ import annotations

import pytest
from django.utils.translation import gettext_lazy

from omniguichet.crm.models import Contact
from omniguichet.teleservices import services
from omniguichet.teleservices.models import RequestStatus, TeleserviceRequest
from omniguichet.teleservices.services.declaration import (
    ALL_OFFERS,
    AUDIENCE_INSURED,
    InputField,
    ServiceResult,
    Submission,
    Teleservice,
)


def handle_preferred_language(s: Submission) -> ServiceResult:
    # The handler gets the cleaned input, the person and the request; it returns the outcome and a message.
    return ServiceResult(RequestStatus.DONE, f"Noted: {s.data['language']}.", {})


PREFERRED_LANGUAGE = Teleservice(
    code="langue_courrier",
    title=gettext_lazy("Language of letters"),
    description=gettext_lazy("Tell us the language you prefer for letters."),
    audience=frozenset({AUDIENCE_INSURED}),
    fields=(InputField("language", gettext_lazy("Language"), kind="choice", choices=(("fr", "français"),)),),
    channels=ALL_OFFERS,
    motive="autre",
    self_service=True,
    handler=handle_preferred_language,
)


@pytest.fixture
def declared(monkeypatch):
    # register() as a catalogue module calls it, undone after the test.
    monkeypatch.setitem(services.CATALOGUE, PREFERRED_LANGUAGE.code, PREFERRED_LANGUAGE)
    return PREFERRED_LANGUAGE


def test_a_declared_service_is_offered_and_used_on_the_web(declared, web, person):
    assert "/compte/services/langue_courrier/" in web.get("/compte/").content.decode()  # on the home page
    page = web.get("/compte/services/langue_courrier/")
    assert page.status_code == 200 and 'name="language"' in page.content.decode()
    done = web.post("/compte/services/langue_courrier/", {"language": "fr", "idempotency_key": "k-1"})
    assert done.status_code == 302
    request = TeleserviceRequest.objects.get(person=person, service="langue_courrier")
    assert request.status == RequestStatus.DONE and request.channel == "web"
    assert Contact.objects.filter(person=person, motive_id="autre", channel="web").exists()


def test_the_same_declaration_serves_the_app_with_its_checks(declared, app, person):
    refused = app.post(
        "/api/v1/teleservices/langue_courrier", {"data": {"language": "xx"}}, "application/json"
    )
    assert refused.status_code == 422 and "language" in refused.json()["error"]["fields"]
    used = app.post("/api/v1/teleservices/langue_courrier", {"data": {"language": "fr"}}, "application/json")
    assert used.status_code == 201 and used.json()["status"] == "done"
