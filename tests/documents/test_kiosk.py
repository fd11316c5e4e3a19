"""The kiosk deposit (/borne/documents/): the teleservices kiosk's session (a web session is not a kiosk
session; the page carries the idle end), the person's open requests as large tiles, a deposit on the kiosk
channel for a case's requested document."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from omniguichet.cases.models import RequestedDocument
from omniguichet.cases.services import ingest_case_events
from omniguichet.core.actors import Actor
from omniguichet.crm.models import Contact
from omniguichet.documents.models import Deposit, Document
from tests.cases.conftest import event
from tests.documents.conftest import make_pdf

PASSWORD = "Un-mot-de-passe-solide-2026"


def kiosk_client(person, user) -> Client:
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    response = client.post("/borne/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert response["Location"] == "/borne/"
    return client


def awaited_rib(person) -> RequestedDocument:
    past = timezone.now() - dt.timedelta(days=2)
    ingest_case_events(actor=Actor.system("backoffice"), source="test", rows=[
        event("IJ-K1", 1, "opened", {"person_id": person.pk, "case_type": "sick_pay"}, occurred_at=past),
        event("IJ-K1", 2, "document_missing", {"document": "rib", "label": "RIB"}, occurred_at=past),
    ])  # fmt: skip
    return RequestedDocument.objects.get(case__reference="IJ-K1")


def test_kiosk_deposit_needs_a_kiosk_session(insured):
    _person, user = insured
    assert Client().get("/borne/documents/")["Location"] == "/borne/connexion/"
    web = Client()
    web.force_login(user)
    assert web.get("/borne/documents/")["Location"] == "/borne/connexion/"
    assert web.get("/borne/documents/depot/?kind=request&ref=1")["Location"] == "/borne/connexion/"


def test_a_person_deposits_at_the_kiosk_for_their_case(insured, rib_request, make_person, settings):
    settings.KIOSK_IDLE_SECONDS = 60
    person, user = insured
    awaited = awaited_rib(person)
    kiosk = kiosk_client(person, user)
    assert 'id="kiosk-documents"' in kiosk.get("/borne/").content.decode()
    listing = kiosk.get("/borne/documents/").content.decode()
    assert f'data-purpose="case_request-{awaited.pk}"' in listing
    assert f'data-purpose="request-{rib_request.pk}"' in listing
    assert "kiosk.js" in listing and 'data-idle-seconds="60"' in listing and "og-kiosk-tile" in listing
    url = f"/borne/documents/depot/?kind=case_request&ref={awaited.pk}"
    form = kiosk.get(url).content.decode()
    assert 'value="bank_details"' in form and "IJ-K1" in form and "kiosk.js" in form
    assert kiosk.session.get_expiry_age() == 60
    response = kiosk.post(
        "/borne/documents/depot/",
        {"kind": "case_request", "ref": str(awaited.pk), "document_type": "bank_details",
         "files": [SimpleUploadedFile("rib.pdf", make_pdf(), content_type="application/pdf")]},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == "/borne/documents/"
    assert Deposit.objects.get().channel == "kiosk"
    assert Contact.objects.filter(channel="kiosk", motive_id="depot_piece").count() == 1
    assert RequestedDocument.objects.get(pk=awaited.pk).received_at is not None
    after = kiosk.get("/borne/documents/").content.decode()
    assert "1 document(s) received" in after and f"case_request-{awaited.pk}" not in after
    # Deposited already: the page says so, and a second deposit is refused.
    again = kiosk.get(url)
    assert again.status_code == 409 and "already received" in again.content.decode()


def test_the_kiosk_refuses_what_is_not_the_persons(insured, make_person):
    person, user = insured
    other = make_person(family_name="Autre")
    awaited = awaited_rib(other)
    kiosk = kiosk_client(person, user)
    assert kiosk.get(f"/borne/documents/depot/?kind=case_request&ref={awaited.pk}").status_code == 404
    response = kiosk.post(
        "/borne/documents/depot/",
        {"kind": "case_request", "ref": str(awaited.pk), "document_type": "bank_details",
         "files": [SimpleUploadedFile("rib.pdf", make_pdf(), content_type="application/pdf")]},
    )  # fmt: skip
    assert response.status_code == 404 and not Document.objects.exists()
    bad = kiosk.post(
        "/borne/documents/depot/",
        {"kind": "request", "ref": "x"},
    )
    assert bad.status_code == 404
