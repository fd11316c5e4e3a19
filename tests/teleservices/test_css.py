"""The Complémentaire santé solidaire request opens a case (type css) through the cases services: the person sees
it in their cases (/me/cases), the agent in the record's open cases; a replay creates nothing twice; the back
office carries the case on from sequence 2."""

import datetime as dt

import pytest
from django.utils import timezone

from omniguichet.cases.models import Case, CaseEvent, RequestedDocument
from omniguichet.cases.services import ingest_case_events
from omniguichet.core.actors import Actor
from omniguichet.crm.models import Contact
from omniguichet.outreach.models import OutboundMessage
from omniguichet.teleservices.models import TeleserviceRequest
from tests.crm.conftest import client_for
from tests.teleservices.conftest import use

pytestmark = pytest.mark.django_db
VALID = {"household_size": "2", "annual_resources": "9 850,50"}


def test_a_css_request_opens_a_case_the_person_and_the_agent_see(app, person, agent_paris):
    response = use(app, "css", VALID, idempotency_key="css-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    reference = body["result"]["case_reference"]
    assert body["status"] == "pending" and reference in body["message"]
    case = Case.objects.get(reference=reference)
    assert (case.case_type, case.person_id, case.caisse_id, case.status) == (
        "css", person.pk, person.caisse_id, "waiting_documents"
    )  # fmt: skip
    assert case.expected_decision_on == timezone.localdate() + dt.timedelta(days=60)
    [opened] = CaseEvent.objects.filter(case=case)
    assert (opened.sequence, opened.event_type, opened.source) == (1, "opened", "platform")
    docs = RequestedDocument.objects.filter(case=case).order_by("code")
    assert [d.code for d in docs] == ["avis_imposition", "justificatifs_ressources"]
    assert all(d.due_on == timezone.localdate() + dt.timedelta(days=30) for d in docs)
    request = TeleserviceRequest.objects.get(pk=body["request_id"])
    assert request.data["annual_resources"] == "9850.50"
    # One contact: the request (the opening of the case is not a second one); the person is told (outreach).
    [contact] = Contact.objects.filter(person=person)
    assert (contact.motive_id, contact.channel, contact.subject_kind) == ("css", "app", "teleservice")
    assert OutboundMessage.objects.filter(
        person=person, subject_kind="case", subject_ref=str(case.pk)
    ).exists()

    # The person's cases, in plain words.
    [mine] = app.get("/api/v1/me/cases").json()
    assert (mine["reference"], mine["type"], mine["status"]) == (reference, "css", "waiting_documents")
    assert [e["text"] for e in mine["timeline"]] == ["Your request was registered."]
    assert {d["code"] for d in mine["awaited_documents"]} == {"avis_imposition", "justificatifs_ressources"}
    # The agent's customer record: the open cases.
    record = client_for(agent_paris).get(f"/api/v1/persons/{person.pk}/record", {"purpose": "appel"}).json()
    assert [c["ref"] for c in record["open_cases"]] == [reference]


def test_a_replay_creates_nothing_twice_and_a_second_request_is_a_conflict(app, person):
    first = use(app, "css", VALID, idempotency_key="css-1")
    again = use(app, "css", VALID, idempotency_key="css-1")
    assert first.status_code == 201 and again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["request_id"] == first.json()["request_id"]
    other = use(app, "css", VALID, idempotency_key="css-2")
    assert other.status_code == 409 and other.json()["error"]["code"] == "in_progress"
    assert first.json()["result"]["case_reference"] in other.json()["error"]["message"]
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1
    assert TeleserviceRequest.objects.filter(service="css").count() == 1
    assert Contact.objects.filter(person=person).count() == 1


def test_the_opening_replayed_in_the_cases_service_is_the_same_case(app, person):
    from omniguichet.cases.services import open_case_from_request

    reference = use(app, "css", VALID).json()["result"]["case_reference"]
    case = open_case_from_request(actor=Actor.system(), channel="app", person=person, case_type="css",
                                  reference=reference, required_documents=[("x", "X")])  # fmt: skip
    assert case.reference == reference and CaseEvent.objects.count() == 1
    assert RequestedDocument.objects.count() == 2  # unchanged


def test_the_back_office_carries_the_case_on_from_sequence_2(app, person):
    reference = use(app, "css", VALID).json()["result"]["case_reference"]
    now = timezone.now().isoformat()
    rows = [
        {"event_id": "bo-1", "case_reference": reference, "sequence": 1, "type": "opened", "occurred_at": now,
         "payload": {"person_id": person.pk, "case_type": "css"}},
        {"event_id": "bo-2", "case_reference": reference, "sequence": 2, "type": "document_received",
         "occurred_at": now, "payload": {"document": "avis_imposition", "channel": "web"}},
        {"event_id": "bo-3", "case_reference": reference, "sequence": 3, "type": "document_received",
         "occurred_at": now, "payload": {"document": "justificatifs_ressources", "channel": "web"}},
        {"event_id": "bo-4", "case_reference": reference, "sequence": 4, "type": "decision", "occurred_at": now,
         "payload": {"outcome": "accepted"}},
    ]  # fmt: skip
    report = ingest_case_events(actor=Actor.system("backoffice"), rows=rows, source="bo")
    assert [r.status for r in report.results] == ["rejected", "applied", "applied", "applied"]
    assert "already opened" in report.results[0].errors["case_reference"]
    case = Case.objects.get(reference=reference)
    assert (case.status, case.last_sequence) == ("accepted", 4)


def test_bad_input_is_refused_field_by_field_and_writes_nothing(app, person):
    response = use(app, "css", {"household_size": "12", "annual_resources": "beaucoup"})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"household_size"}
    response = use(app, "css", {"household_size": "2", "annual_resources": "beaucoup"})
    assert response.status_code == 422
    assert "amount in euros" in response.json()["error"]["fields"]["annual_resources"]
    response = use(app, "css", {"household_size": "2", "annual_resources": "-5"})
    assert response.status_code == 422
    assert not Case.objects.exists() and not TeleserviceRequest.objects.exists()
    assert not Contact.objects.exists() and not OutboundMessage.objects.exists()


def test_closed_rights_are_403(app, person):
    person.rights_to = timezone.localdate() - dt.timedelta(days=1)
    person.save(update_fields=["rights_to"])
    response = use(app, "css", VALID)
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_eligible"


def test_an_agent_files_it_on_the_persons_behalf(person, agent_paris):
    response = use(client_for(agent_paris), "css", VALID, person_id=person.pk, channel="reception")
    assert response.status_code == 201, response.json()
    case = Case.objects.get(reference=response.json()["result"]["case_reference"])
    assert case.person_id == person.pk
    contact = Contact.objects.get(person=person)
    assert (contact.channel, contact.actor_kind) == ("reception", "agent")


def test_on_the_web_account(web, person):
    page = web.get("/compte/services/css/")
    assert page.status_code == 200 and 'name="annual_resources"' in page.content.decode()
    response = web.post("/compte/services/css/", {**VALID, "idempotency_key": "w-1"})
    assert response.status_code == 302, response.content.decode()[:500]
    result = web.get(response["Location"]).content.decode()
    case = Case.objects.get(person=person)
    assert case.reference in result
