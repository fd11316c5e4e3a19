"""A retried deposit (the app resending after a lost answer, a double click on the web form) makes one deposit:
the same idempotency key for the same person returns the first deposit, nothing checked, stored or recorded
again."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client

from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict, InvalidInput
from omniguichet.crm.models import Contact
from omniguichet.documents import services
from omniguichet.documents.models import Deposit, Document, DocumentRequest
from tests.crm.conftest import client_for
from tests.documents.conftest import make_pdf, stored_files

URL = "/api/v1/documents/deposits"


def deposit(actor, request, key, name="rib.pdf", **kw):
    kw.setdefault("channel", "app")
    return services.deposit_documents(
        actor=actor, purpose_kind="request", purpose_ref=str(request.pk), document_type="bank_details",
        files=[(name, make_pdf())], idempotency_key=key, **kw,
    )  # fmt: skip


def test_the_same_key_returns_the_first_deposit(insured_actor, rib_request, _document_settings):
    first = deposit(insured_actor, rib_request, "app-42:deposit.1")
    assert not first.replayed and first.deposit.idempotency_key == "app-42:deposit.1"
    again = deposit(insured_actor, rib_request, "app-42:deposit.1", name="other.pdf")
    assert again.replayed and again.deposit.pk == first.deposit.pk
    assert [d.pk for d in again.documents] == [d.pk for d in first.documents]
    assert again.documents[0].original_name == "rib.pdf"
    assert Deposit.objects.count() == 1 and Document.objects.count() == 1 and Contact.objects.count() == 1
    assert len(stored_files(_document_settings)) == 1
    # A replay after the request closed still answers with the deposit it made.
    DocumentRequest.objects.filter(pk=rib_request.pk).update(status="closed")
    assert deposit(insured_actor, rib_request, "app-42:deposit.1").deposit.pk == first.deposit.pk
    # Without a key, or with another key, each call is a deposit of its own (while the purpose is open).
    DocumentRequest.objects.filter(pk=rib_request.pk).update(status="open")
    deposit(insured_actor, rib_request, "")
    deposit(insured_actor, rib_request, "")
    deposit(insured_actor, rib_request, "app-42:deposit.2")
    assert Deposit.objects.count() == 4 and len(stored_files(_document_settings)) == 4


def test_the_key_is_per_person_and_names_one_deposit(
    insured, insured_actor, rib_request, agent_paris, make_person, _document_settings
):
    person, _user = insured
    deposit(insured_actor, rib_request, "k1")
    # Another person's deposit with the same key is theirs, not a replay of this one.
    other = make_person(family_name="Autre")
    request = DocumentRequest.objects.create(person=other, document_types=["bank_details"], label="RIB")
    agent = Actor.agent(agent_paris)
    theirs = deposit(agent, request, "k1", channel="letter", person_id=other.pk)
    assert not theirs.replayed and theirs.deposit.person == other
    # The key used again for another purpose is refused, not answered with an unrelated deposit.
    second = DocumentRequest.objects.create(person=person, document_types=["bank_details"], label="RIB 2")
    with pytest.raises(Conflict, match="already used for another deposit"):
        deposit(insured_actor, second, "k1")
    with pytest.raises(InvalidInput) as bad:
        deposit(insured_actor, rib_request, "spaces are not allowed")
    assert set(bad.value.fields) == {"idempotency_key"}
    with pytest.raises(InvalidInput):
        deposit(insured_actor, rib_request, "x" * 65)
    assert Deposit.objects.count() == 2


def test_the_api_takes_the_key_as_a_header_or_a_field(insured, rib_request, _document_settings):
    _person, user = insured
    client = client_for(user)

    def post(**extra):
        data = {"purpose_kind": "request", "purpose_ref": str(rib_request.pk), "document_type": "bank_details",
                "files": [SimpleUploadedFile("rib.pdf", make_pdf())]}  # fmt: skip
        return client.post(URL, {**data, **extra.pop("fields", {})}, **extra)

    first = post(headers={"Idempotency-Key": "phone-7"})
    assert first.status_code == 201, first.content
    replay = post(headers={"Idempotency-Key": "phone-7"})
    assert replay.status_code == 200 and replay.json() == first.json()
    by_field = post(fields={"idempotency_key": "phone-7"})
    assert by_field.status_code == 200 and by_field.json()["id"] == first.json()["id"]
    assert post(headers={"Idempotency-Key": "bad key!"}).status_code == 422
    assert Deposit.objects.count() == 1 and len(stored_files(_document_settings)) == 1


def test_a_double_submit_of_the_web_form_makes_one_deposit(insured, rib_request, _document_settings):
    _person, user = insured
    client = Client()
    client.force_login(user)
    page = client.get(f"/compte/documents/depot/?kind=request&ref={rib_request.pk}").content.decode()
    key = page.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]
    assert len(key) >= 16
    data = {"kind": "request", "ref": str(rib_request.pk), "document_type": "bank_details",
            "idempotency_key": key}  # fmt: skip
    for _ in range(2):
        response = client.post(
            "/compte/documents/depot/", {**data, "files": [SimpleUploadedFile("rib.pdf", make_pdf())]}
        )
        assert response.status_code == 302
    assert Deposit.objects.count() == 1 and len(stored_files(_document_settings)) == 1
    # A fresh page has a fresh key.
    assert (
        key not in client.get(f"/compte/documents/depot/?kind=request&ref={rib_request.pk}").content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deposits_with_one_key_make_one(insured_actor, rib_request, _document_settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (the SQLite test database is one in-memory file)")
    barrier = threading.Barrier(2)
    answers: list[int] = []
    real = services._replayed_deposit

    def after_the_lookup(*args, **kwargs):
        found = real(*args, **kwargs)
        if found is None and threading.current_thread().name.startswith("twin"):
            barrier.wait(timeout=10)  # both looked the key up and found nothing: both go on to insert
        return found

    def run() -> None:
        try:
            answers.append(deposit(insured_actor, rib_request, "twin-key").deposit.pk)
        finally:
            connections.close_all()

    services._replayed_deposit = after_the_lookup
    try:
        threads = [threading.Thread(target=run, name=f"twin-{i}") for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        services._replayed_deposit = real
    assert len(answers) == 2 and answers[0] == answers[1], answers
    assert Deposit.objects.count() == 1 and Document.objects.count() == 1 and Contact.objects.count() == 1
    assert len(stored_files(_document_settings)) == 1
