"""The deposit pages' form (django-dsfr): a refused value is announced under its field with the words of the
deposit service and of the documents' checks (the same as the API's), and nothing is stored nor recorded."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.documents.models import Deposit, Document
from tests.documents.conftest import make_pdf, stored_files
from tests.documents.test_kiosk import awaited_rib, kiosk_client
from tests.forms import error_under


def _nothing_written(document_settings) -> None:
    assert not Document.objects.exists() and not Deposit.objects.exists()
    assert not Contact.objects.exists() and stored_files(document_settings) == []


def test_the_web_deposit_says_under_each_field_what_is_wrong(insured, rib_request, _document_settings):
    _person, user = insured
    client = Client()
    client.force_login(user)
    data = {"kind": "request", "ref": rib_request.pk}
    no_file = client.post("/compte/documents/depot/", {**data, "document_type": "bank_details"})
    assert no_file.status_code == 422
    assert error_under(no_file.content, "files") == "at least one file is needed"
    assert b'id="deposit-error"' in no_file.content
    wrong_type = client.post(
        "/compte/documents/depot/",
        {**data, "document_type": "proof_of_address", "files": [SimpleUploadedFile("a.pdf", make_pdf())]},
    )
    assert wrong_type.status_code == 422
    assert error_under(wrong_type.content, "document_type").startswith("this request expects:")
    empty = client.post(
        "/compte/documents/depot/",
        {**data, "document_type": "bank_details", "files": [SimpleUploadedFile("a.pdf", b"")]},
    )
    assert empty.status_code == 422 and "the file is empty" in error_under(empty.content, "files")
    _nothing_written(_document_settings)


def test_the_kiosk_deposit_says_it_under_the_tiles(insured, _document_settings):
    person, user = insured
    awaited = awaited_rib(person)
    kiosk = kiosk_client(person, user)
    page = kiosk.get(f"/borne/documents/depot/?kind=case_request&ref={awaited.pk}").content.decode()
    assert 'id="type-bank_details"' in page and "checked" in page  # the first type chosen, as before
    refused = kiosk.post(
        "/borne/documents/depot/",
        {"kind": "case_request", "ref": str(awaited.pk), "document_type": "proof_of_address",
         "files": [SimpleUploadedFile("rib.pdf", make_pdf(), content_type="application/pdf")]},
    )  # fmt: skip
    assert refused.status_code == 422
    assert error_under(refused.content, "document_type").startswith("this request expects:")
    _nothing_written(_document_settings)


def test_the_agents_deposit_and_request_say_it_under_their_fields(insured, agent_paris, _document_settings):
    person, _user = insured
    url = f"/agent/baskets/persons/{person.pk}/"
    client = Client()
    client.force_login(agent_paris)
    ask = client.post(url, {"form": "ask", "label": "", "document_types": []})
    assert ask.status_code == 422
    assert error_under(ask.content, "ask_label") == "between 1 and 200 characters"
    assert error_under(ask.content, "ask_document_types_0").startswith("one or more of")
    assert b'id="ask-error"' in ask.content
    offered = client.post(url, {"form": "ask", "label": "x", "document_types": ["nope"]})
    assert "nope" in error_under(offered.content, "ask_document_types_0")  # a choice the page does not offer
    client.post(url, {"form": "ask", "label": "Justificatif", "document_types": ["proof_of_address"]})
    request = person.document_requests.get()
    deposit = client.post(
        url,
        {"form": "deposit", "ref": f"request:{request.pk}", "document_type": "proof_of_address",
         "channel": "sms", "files": [SimpleUploadedFile("a.pdf", make_pdf())]},
    )  # fmt: skip
    assert deposit.status_code == 422
    assert error_under(deposit.content, "channel").startswith("must be one of")
    assert person.document_requests.count() == 1
    _nothing_written(_document_settings)
