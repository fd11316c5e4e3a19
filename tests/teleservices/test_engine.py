"""The engine: catalogue, channels, audience, eligibility, idempotency, agent on behalf, one contact per use."""

import dataclasses

import pytest
from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.teleservices import services
from omniguichet.teleservices.models import TeleserviceRequest
from tests.conftest import make_user
from tests.crm.conftest import client_for
from tests.teleservices.conftest import use

pytestmark = pytest.mark.django_db


def test_catalogue_needs_a_token(db):
    assert Client().get("/api/v1/teleservices").status_code == 401
    assert (
        Client()
        .post("/api/v1/teleservices/attestation_droits", {}, content_type="application/json")
        .status_code
        == 401
    )


def test_catalogue_for_the_app(app):
    body = app.get("/api/v1/teleservices").json()
    codes = {s["code"]: s for s in body}
    assert {
        "attestation_droits",
        "releve_remboursements",
        "changement_adresse",
        "changement_rib",
        "carte_europeenne",
        "perte_vol_vitale",
        "attestation_ij",
        "changement_contact",
        "rattachement_enfant",
    } <= set(codes)
    assert codes["changement_rib"]["required_documents"] == ["rib_document"]
    assert codes["attestation_ij"]["available"] is False
    assert codes["attestation_ij"]["reason"] == "no daily allowance was paid to you"
    assert [f["name"] for f in codes["changement_adresse"]["fields"]] == ["address_line", "postcode", "city"]


def test_a_login_without_account_or_role_is_refused(db):
    response = client_for(make_user("nobody", role="")).get("/api/v1/teleservices")
    assert response.status_code == 403


def test_unknown_service_is_404(app):
    assert use(app, "no_such_service").status_code == 404


def test_service_not_offered_on_the_channel(app, monkeypatch):
    service = services.CATALOGUE["changement_adresse"]
    monkeypatch.setitem(
        services.CATALOGUE,
        "changement_adresse",
        dataclasses.replace(service, channels=frozenset({"web", "agent"})),
    )
    response = use(
        app, "changement_adresse", {"address_line": "1 rue A", "postcode": "75001", "city": "Paris"}
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "not_offered"
    assert "not offered on the mobile app" in error["message"] and "the web account" in error["message"]
    assert not TeleserviceRequest.objects.exists() and not Contact.objects.exists()


def test_service_not_open_to_the_audience(app, monkeypatch):
    employer_only = dataclasses.replace(
        services.CATALOGUE["attestation_droits"], code="attestation_salaire", audience=frozenset({"employer"})
    )
    monkeypatch.setitem(services.CATALOGUE, "attestation_salaire", employer_only)
    response = use(app, "attestation_salaire")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_open"
    assert "reserved to employer" in response.json()["error"]["message"]


def test_not_eligible_is_403_with_the_reason(app):
    response = use(app, "attestation_ij")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "not_eligible",
        "message": "no daily allowance was paid to you",
        "fields": {},
    }


def test_unknown_fields_and_bad_body_are_422(app):
    response = use(
        app, "changement_adresse", {"address_line": "1 rue A", "postcode": "7500", "colour": "red"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "colour": "unknown field",
        "postcode": "must have 5 digits",
        "city": "is required",
    }
    response = app.post(
        "/api/v1/teleservices/changement_adresse", {"data": "x"}, content_type="application/json"
    )
    assert response.status_code == 422
    response = use(
        app,
        "changement_adresse",
        {"address_line": "1 rue A", "postcode": "75001", "city": "P"},
        idempotency_key="no spaces allowed",
    )
    assert response.status_code == 422 and "idempotency_key" in response.json()["error"]["fields"]


def test_second_submission_with_the_same_key_is_not_duplicated(app, person):
    data = {"address_line": "8 avenue Foch", "postcode": "75016", "city": "Paris"}
    first = use(app, "changement_adresse", data, idempotency_key="k-1")
    assert first.status_code == 201 and first.json()["replayed"] is False
    again = use(app, "changement_adresse", data, idempotency_key="k-1")
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["request_id"] == first.json()["request_id"]
    header = app.post(
        "/api/v1/teleservices/changement_adresse",
        {"data": data},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert header.json()["request_id"] == first.json()["request_id"]
    assert TeleserviceRequest.objects.count() == 1 and Contact.objects.count() == 1


def test_each_use_records_one_contact_with_channel_motive_and_subject(app, person):
    response = use(app, "attestation_droits")
    assert response.status_code == 201
    contact = Contact.objects.get()
    assert (contact.person, contact.channel, contact.motive_id, contact.actor_kind) == (
        person,
        "app",
        "attestation_droits",
        "insured",
    )
    assert (contact.subject_kind, contact.subject_ref) == ("teleservice", str(response.json()["request_id"]))


def test_agent_acts_on_behalf_within_their_caisse(person, agent_paris, agent_ain):
    agent = client_for(agent_paris)
    response = use(agent, "attestation_droits", person_id=person.pk, channel="reception")
    assert response.status_code == 201
    contact = Contact.objects.get()
    assert (contact.channel, contact.actor_kind, contact.agent) == ("reception", "agent", agent_paris)
    req = TeleserviceRequest.objects.get()
    assert (req.actor_kind, req.agent, req.channel) == ("agent", agent_paris, "reception")
    # Another caisse's agent: the person does not exist for them.
    assert use(client_for(agent_ain), "attestation_droits", person_id=person.pk).status_code == 404
    # person_id is required for an agent.
    response = use(agent, "attestation_droits")
    assert response.status_code == 422 and "person_id" in response.json()["error"]["fields"]
    # The agent reads the request and its document; the other caisse cannot.
    rid = response_id = req.pk
    assert agent.get(f"/api/v1/teleservices/requests/{rid}").status_code == 200
    assert (
        client_for(agent_ain).get(f"/api/v1/teleservices/requests/{response_id}/document").status_code == 404
    )


def test_insured_cannot_act_for_someone_else(app, make_person):
    other = make_person(family_name="Autre")
    response = use(app, "attestation_droits", person_id=other.pk)
    assert response.status_code == 403


def test_insured_reads_only_their_requests(app, make_person, person):
    response = use(app, "attestation_droits")
    rid = response.json()["request_id"]
    assert app.get(f"/api/v1/teleservices/requests/{rid}").json()["status"] == "done"
    other = make_person(family_name="Autre", rights_from=person.rights_from)
    other_req = TeleserviceRequest.objects.create(
        service="attestation_droits",
        person=other,
        channel="web",
        actor_kind="insured",
        idempotency_key="x",
        status="done",
        created_at=person.created_at,
    )
    assert app.get(f"/api/v1/teleservices/requests/{other_req.pk}").status_code == 404
    assert app.get(f"/api/v1/teleservices/requests/{other_req.pk}/document").status_code == 404


def test_a_suspended_account_cannot_use_services(app, person):
    from omniguichet.accounts.models import Account

    Account.objects.filter(person=person).update(status="suspended")
    response = use(app, "attestation_droits")
    assert response.status_code == 403 and response.json()["error"]["code"] == "account"
