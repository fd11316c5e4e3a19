"""The deposit purpose "case_request" (registered by the cases app): a case's requested document, deposited by the
person; the case then shows `document_received` (a platform event, outside the back office's sequence), the
reminder stops, and a rejection in the basket makes the case wait for the document again."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from omniguichet.cases.models import Case, PlatformEvent, RequestedDocument
from omniguichet.cases.services import ingest_case_events, my_cases
from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict, InvalidInput, NotFound
from omniguichet.documents import services
from omniguichet.documents.models import Deposit, Document
from omniguichet.outreach.models import OutboundMessage
from tests.cases.conftest import event
from tests.documents.conftest import make_pdf, stored_files

BACKOFFICE = Actor.system("backoffice")


def opened(reference, person, *, occurred_at):
    payload = {"person_id": person.pk, "case_type": "sick_pay"}
    return event(reference, 1, "opened", payload, occurred_at=occurred_at)


def ingest(rows):
    report = ingest_case_events(actor=BACKOFFICE, rows=rows, source="test")
    assert all(r.status in ("applied", "held") for r in report.results), report.results
    return report


@pytest.fixture
def rib_case(insured):
    """A sick-pay case of the insured person waiting for their bank details (RIB)."""
    person, _user = insured
    past = timezone.now() - dt.timedelta(days=10)
    ingest([
        opened("IJ-500", person, occurred_at=past),
        event("IJ-500", 2, "document_missing", {"document": "rib", "label": "RIB"},
              occurred_at=past + dt.timedelta(minutes=1)),
    ])  # fmt: skip
    return RequestedDocument.objects.select_related("case").get(case__reference="IJ-500", code="rib")


def deposit_for(actor, requested, *, document_type="bank_details", channel="web", **kw):
    return services.deposit_documents(
        actor=actor, channel=channel, purpose_kind="case_request", purpose_ref=str(requested.pk),
        document_type=document_type, files=[("rib.pdf", make_pdf())], **kw,
    )  # fmt: skip


def test_the_cases_app_registers_the_purpose():
    assert "case_request" in services.registered_purpose_kinds()


def test_a_deposit_for_a_case_request_reaches_the_case(insured, insured_actor, rib_case):
    _person, _user = insured
    [listed] = [p for p in services.open_purposes(actor=insured_actor) if p.kind == "case_request"]
    assert (
        listed.ref == str(rib_case.pk) and "RIB" in listed.purpose.label and "IJ-500" in listed.purpose.label
    )
    assert listed.purpose.expected_types == ("bank_details",)

    result = deposit_for(insured_actor, rib_case)
    [doc] = result.documents
    # Routed by the rule (bank details, case request) -> sick pay, in the person's caisse.
    assert (doc.item.basket.caisse_id, doc.item.basket.kind) == ("751", "ij")
    rib_case.refresh_from_db()
    assert rib_case.received_at == doc.received_at
    [platform] = PlatformEvent.objects.filter(case=rib_case.case)
    assert (platform.event_type, platform.document_code, platform.key) == (
        "document_received", "rib", f"deposit-{doc.deposit_id}",
    )  # fmt: skip
    assert platform.payload["documents"] == [doc.pk] and platform.payload["channel"] == "web"
    # The back office's sequence is untouched...
    case = Case.objects.get(pk=rib_case.case_id)
    assert case.last_sequence == 2 and case.status == "waiting_documents"
    # ... so its next events apply as before, including its own document_received.
    report = ingest(
        [event("IJ-500", 3, "document_received", {"document": "rib"}, occurred_at=timezone.now())]
    )
    assert report.results[0].status == "applied"
    assert Case.objects.get(pk=case.pk).status == "in_progress"

    [view] = my_cases(actor=insured_actor)
    texts = [e.text for e in view.timeline]
    assert texts == [
        "Your request was registered.",
        "We need a document from you: RIB.",
        "We received your document: RIB.",
        "We received your document.",
    ]
    assert view.awaited_documents == []
    assert not [p for p in services.open_purposes(actor=insured_actor) if p.kind == "case_request"]


def test_a_held_back_office_event_still_applies_after_a_platform_deposit(insured_actor, rib_case):
    deposit_for(insured_actor, rib_case)
    # The back office sends event 4 before event 3: held, then released by 3 — the platform took no number.
    assert ingest([event("IJ-500", 4, "payment", {"amount": "12.50"})]).results[0].status == "held"
    report = ingest([event("IJ-500", 3, "expected_date_changed", {"expected_decision_on": "2027-01-04"})])
    assert report.released == 1 and Case.objects.get(pk=rib_case.case_id).last_sequence == 4


def test_refusals_store_nothing(insured, insured_actor, rib_case, make_person, _document_settings):
    other = make_person(family_name="Autre")
    past = timezone.now() - dt.timedelta(days=3)
    ingest([
        opened("IJ-600", other, occurred_at=past),
        event("IJ-600", 2, "document_missing", {"document": "rib", "label": "RIB"}, occurred_at=past),
        opened("IJ-700", insured[0], occurred_at=past),
        event("IJ-700", 2, "document_missing", {"document": "rib", "label": "RIB"}, occurred_at=past),
        event("IJ-700", 3, "closed", {}, occurred_at=past + dt.timedelta(minutes=1)),
    ])  # fmt: skip
    others = RequestedDocument.objects.get(case__reference="IJ-600")
    closed = RequestedDocument.objects.get(case__reference="IJ-700")
    # Another person's case answers exactly like a request that does not exist.
    with pytest.raises(NotFound) as foreign:
        deposit_for(insured_actor, others)
    with pytest.raises(NotFound) as missing:
        services.deposit_documents(
            actor=insured_actor, channel="web", purpose_kind="case_request", purpose_ref="987654",
            document_type="bank_details", files=[("rib.pdf", make_pdf())],
        )  # fmt: skip
    assert foreign.value.message == missing.value.message == "no such request for this person"
    with pytest.raises(Conflict, match="this case is closed"):
        deposit_for(insured_actor, closed)
    with pytest.raises(InvalidInput) as wrong_type:
        deposit_for(insured_actor, rib_case, document_type="birth_certificate")
    assert "bank details" in wrong_type.value.fields["document_type"]
    assert (
        not Document.objects.exists() and not Deposit.objects.exists() and not PlatformEvent.objects.exists()
    )
    assert stored_files(_document_settings) == []
    # Already received: refused with its reason.
    deposit_for(insured_actor, rib_case)
    with pytest.raises(Conflict, match="this document was already received on"):
        deposit_for(insured_actor, rib_case)
    assert Document.objects.count() == 1


def test_a_concurrent_deposit_for_the_same_request_is_rolled_back_whole(
    insured_actor, rib_case, _document_settings, monkeypatch
):
    # The second deposit resolved its purpose before the first one committed: its snapshot says "open".
    stale = services.resolve_purpose(person=rib_case.case.person, kind="case_request", ref=str(rib_case.pk))
    deposit_for(insured_actor, rib_case)
    monkeypatch.setitem(services._resolvers, "case_request", lambda person, ref: stale)
    with pytest.raises(Conflict, match="already received"):
        deposit_for(insured_actor, rib_case)
    assert Document.objects.count() == 1 and Deposit.objects.count() == 1
    assert len(stored_files(_document_settings)) == 1


def test_the_reminder_stops_once_the_document_is_deposited(insured, insured_actor, rib_case, make_person):
    from omniguichet.cases.services.messages import send_document_reminders

    other = make_person(family_name="Oubli")
    past = timezone.now() - dt.timedelta(days=10)
    ingest([
        opened("IJ-800", other, occurred_at=past),
        event("IJ-800", 2, "document_missing", {"document": "rib", "label": "RIB"}, occurred_at=past),
    ])  # fmt: skip
    deposit_for(insured_actor, rib_case)
    assert send_document_reminders() == 1  # the other person only (the default rule reminds after 7 days)
    assert RequestedDocument.objects.get(pk=rib_case.pk).reminded_at is None
    assert RequestedDocument.objects.get(case__reference="IJ-800").reminded_at is not None
    person, _user = insured
    assert not OutboundMessage.objects.filter(person=person, idempotency_key__startswith="reminder:").exists()


def test_a_rejection_makes_the_case_wait_again(
    insured, insured_actor, rib_case, agent_paris, django_capture_on_commit_callbacks
):
    person, _user = insured
    doc = deposit_for(insured_actor, rib_case).documents[0]
    with django_capture_on_commit_callbacks(execute=True):
        [result] = services.reject_documents(
            actor=Actor.agent(agent_paris), document_ids=[doc.pk], reason="RIB illisible"
        )
    assert result.ok
    rib_case.refresh_from_db()
    assert rib_case.received_at is None
    assert PlatformEvent.objects.filter(key=f"rejected-{doc.pk}", event_type="document_rejected").exists()
    [view] = my_cases(actor=insured_actor)
    assert view.timeline[-1].text == (
        "Your document (RIB) could not be accepted: RIB illisible. Please send it again."
    )
    assert [d.code for d in view.awaited_documents] == ["rib"]
    link = f"/compte/documents/depot/?kind=case_request&ref={rib_case.pk}"
    messages = OutboundMessage.objects.filter(person=person, subject_kind="document")
    assert messages and all(link in m.body for m in messages)
    # The person deposits again through the link: accepted.
    assert len(deposit_for(insured_actor, rib_case, channel="kiosk").documents) == 1


def test_the_list_of_case_requests_is_one_query(insured, rib_case, django_assert_num_queries):
    from omniguichet.cases.services import list_case_requests

    with django_assert_num_queries(1):
        items = list_case_requests(insured[0])
    assert [i.ref for i in items] == [str(rib_case.pk)]


def test_the_message_link_opens_the_deposit_page(insured, rib_case, make_person, agent_paris):
    _person, user = insured
    client = Client()
    url = "/compte/dossiers/IJ-500/pieces/rib"
    assert "/compte/connexion/" in client.get(url)["Location"]
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/compte/documents/depot/?kind=case_request&ref={rib_case.pk}"
    page = client.get(response["Location"])
    assert page.status_code == 200 and "IJ-500" in page.content.decode()
    assert 'value="bank_details"' in page.content.decode()
    assert client.get("/compte/dossiers/IJ-500/pieces/photo").status_code == 404
    assert client.get("/compte/dossiers/IJ-999/pieces/rib").status_code == 404
    listing = client.get("/compte/documents/").content.decode()
    assert f'data-purpose="case_request-{rib_case.pk}"' in listing


def test_the_app_lists_what_the_person_can_deposit_for(
    insured, rib_case, rib_request, agent_paris, agent_ain
):
    from tests.crm.conftest import client_for

    person, user = insured
    url = "/api/v1/documents/purposes"
    assert Client().get(url).status_code == 401
    assert client_for(agent_ain).get(f"{url}?person_id={person.pk}").status_code == 404
    assert client_for(agent_ain).get(url).status_code == 422  # an agent names the person
    mine = client_for(user).get(url)
    assert mine.status_code == 200
    by_kind = {item["kind"]: item for item in mine.json()}
    assert by_kind["case_request"]["ref"] == str(rib_case.pk)
    assert by_kind["case_request"]["expected_types"] == ["bank_details"]
    assert by_kind["request"]["ref"] == str(rib_request.pk)
    assert client_for(agent_paris).get(f"{url}?person_id={person.pk}").json() == mine.json()
    # The app deposits for the case with the kind and ref it was given.
    response = client_for(user).post(
        "/api/v1/documents/deposits",
        {"purpose_kind": "case_request", "purpose_ref": by_kind["case_request"]["ref"],
         "document_type": "bank_details", "files": [SimpleUploadedFile("rib.pdf", make_pdf())]},
    )  # fmt: skip
    assert response.status_code == 201 and response.json()["channel"] == "app"
    again = client_for(user).post(
        "/api/v1/documents/deposits",
        {"purpose_kind": "case_request", "purpose_ref": by_kind["case_request"]["ref"],
         "document_type": "bank_details", "files": [SimpleUploadedFile("rib.pdf", make_pdf())]},
    )  # fmt: skip
    assert again.status_code == 409 and "already received" in again.json()["error"]["message"]


def test_an_agent_deposits_a_letter_for_the_case(insured, rib_case, agent_paris, agent_ain):
    person, _user = insured
    url = f"/agent/baskets/persons/{person.pk}/"
    agent = Client()
    agent.force_login(agent_paris)
    assert f'value="case_request:{rib_case.pk}"' in agent.get(url).content.decode()
    response = agent.post(
        url,
        {"form": "deposit", "ref": f"case_request:{rib_case.pk}", "document_type": "bank_details",
         "channel": "letter", "files": [SimpleUploadedFile("rib.pdf", make_pdf())]},
    )  # fmt: skip
    assert response.status_code == 302
    deposit = Deposit.objects.get()
    assert (deposit.purpose_kind, deposit.channel, deposit.agent) == ("case_request", "letter", agent_paris)
    assert RequestedDocument.objects.get(pk=rib_case.pk).received_at is not None
    other = Client()
    other.force_login(agent_ain)
    assert other.get(url).status_code == 404


def test_the_timeline_and_the_refusals_read_in_french(insured, insured_actor, rib_case):
    from django.utils import translation

    deposit_for(insured_actor, rib_case)
    with translation.override("fr"):
        [view] = my_cases(actor=insured_actor)
        assert view.timeline[-1].text == "Nous avons bien reçu votre pièce : RIB."
        with pytest.raises(Conflict, match="cette pièce a déjà été reçue le"):
            deposit_for(insured_actor, rib_case)
    assert services.open_purposes(actor=insured_actor) == []  # nothing awaited any more
