"""Document endpoints: anonymous -> 401, wrong role or other caisse -> 403/404, then valid cases; every bad input
of the issue refused with its reason and nothing stored."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from omniguichet.baskets.models import Transfer, WorkItem
from omniguichet.documents.models import Document, DocumentRequest
from omniguichet.documents.services import seed_baskets
from tests.crm.conftest import client_for
from tests.documents.conftest import make_pdf, make_zip_bomb, stored_files

URL = "/api/v1/documents/deposits"


def form(request, *files, document_type="bank_details", **extra):
    data = {
        "purpose_kind": "request",
        "purpose_ref": str(request.pk),
        "document_type": document_type,
        **extra,
    }
    data["files"] = [SimpleUploadedFile(name, content) for name, content in files]
    return data


def test_anonymous_is_401(rib_request):
    response = Client().post(URL, form(rib_request, ("a.pdf", make_pdf())))
    assert response.status_code == 401
    assert Client().get("/api/v1/documents/baskets").status_code == 401


def test_person_deposits_through_the_app(insured, rib_request):
    person, user = insured
    response = client_for(user).post(URL, form(rib_request, ("rib.pdf", make_pdf(2))))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["channel"] == "app" and body["purpose_ref"] == str(rib_request.pk)
    [doc] = body["documents"]
    assert (doc["pages"], doc["content_type"], doc["status"], doc["person_id"]) == (
        2,
        "application/pdf",
        "received",
        person.pk,
    )
    assert doc["basket"]["caisse"] == "751" and doc["basket"]["kind"] == "remboursements"


def test_kiosk_deposit(insured, rib_request):
    _person, user = insured
    response = client_for(user).post(URL, form(rib_request, ("rib.pdf", make_pdf()), channel="kiosk"))
    assert response.status_code == 201 and response.json()["channel"] == "kiosk"


@pytest.mark.parametrize(
    ("name", "content", "status", "reason"),
    [
        ("rib.pdf", b"GIF89a\x01\x00", 422, "the file is a GIF file, not a PDF, JPEG or PNG document"),
        ("rib.pdf", make_zip_bomb(), 422, "the file is a ZIP file, not a PDF, JPEG or PNG document"),
        ("rib.pdf", b"", 422, "the file is empty"),
        ("rib.pdf", make_pdf(javascript=True), 422, "the PDF contains JavaScript"),
        ("rib.pdf", make_pdf(password="1234"), 422, "the PDF is protected by a password"),
    ],
)
def test_bad_files_are_refused_with_a_reason(
    insured, rib_request, name, content, status, reason, _document_settings
):
    _person, user = insured
    response = client_for(user).post(URL, form(rib_request, ("ok.pdf", make_pdf()), (name, content)))
    assert response.status_code == status
    error = response.json()["error"]
    assert reason in error["message"] and reason in error["fields"]["files"]
    assert not Document.objects.exists() and stored_files(_document_settings) == []


def test_another_persons_request_is_404_and_a_closed_one_409(insured, make_person):
    _person, user = insured
    other = DocumentRequest.objects.create(person=make_person(), document_types=["bank_details"], label="RIB")
    response = client_for(user).post(URL, form(other, ("a.pdf", make_pdf())))
    assert (
        response.status_code == 404
        and "no such request for this person" in response.json()["error"]["message"]
    )
    mine = DocumentRequest.objects.create(
        person=_person, document_types=["bank_details"], label="RIB", status="closed"
    )
    response = client_for(user).post(URL, form(mine, ("a.pdf", make_pdf())))
    assert response.status_code == 409 and "this request is closed" in response.json()["error"]["message"]
    assert not Document.objects.exists()


def test_agent_deposits_on_behalf_only_in_their_caisse(agent_paris, agent_ain, insured, rib_request):
    person, _user = insured
    response = client_for(agent_ain).post(URL, form(rib_request, ("a.pdf", make_pdf()), person_id=person.pk))
    assert response.status_code == 404
    response = client_for(agent_paris).post(
        URL, form(rib_request, ("a.pdf", make_pdf()), person_id=person.pk, channel="letter")
    )
    assert response.status_code == 201 and response.json()["channel"] == "letter"


def test_requests_agent_creates_person_lists(agent_paris, agent_ain, insured):
    person, user = insured
    payload = {
        "person_id": person.pk,
        "document_types": ["proof_of_address"],
        "label": "Justificatif de domicile",
    }
    assert (
        client_for(agent_ain)
        .post("/api/v1/documents/requests", payload, content_type="application/json")
        .status_code
        == 404
    )
    assert (
        client_for(user)
        .post("/api/v1/documents/requests", payload, content_type="application/json")
        .status_code
        == 403
    )
    response = client_for(agent_paris).post(
        "/api/v1/documents/requests", payload, content_type="application/json"
    )
    assert response.status_code == 201
    listed = client_for(user).get("/api/v1/documents/requests").json()
    assert [r["label"] for r in listed] == ["Justificatif de domicile"]
    bad = client_for(agent_paris).post(
        "/api/v1/documents/requests",
        {**payload, "document_types": ["selfie"]},
        content_type="application/json",
    )
    assert bad.status_code == 422 and "document_types" in bad.json()["error"]["fields"]


@pytest.fixture
def deposited(insured, rib_request):
    _person, user = insured
    seed_baskets()
    response = client_for(user).post(URL, form(rib_request, ("a.pdf", make_pdf()), ("b.pdf", make_pdf())))
    return [d["id"] for d in response.json()["documents"]], response.json()["documents"][0]["basket"]["id"]


def test_baskets_and_their_documents(agent_paris, agent_ain, insured, deposited):
    ids, basket_id = deposited
    _person, user = insured
    assert client_for(user).get("/api/v1/documents/baskets").status_code == 403
    mine = client_for(agent_paris).get("/api/v1/documents/baskets").json()
    assert {b["caisse"] for b in mine} == {"751"}
    assert next(b for b in mine if b["id"] == basket_id)["open"] == 2
    assert client_for(agent_ain).get(f"/api/v1/documents/baskets/{basket_id}/documents").status_code == 404
    page = client_for(agent_paris).get(f"/api/v1/documents/baskets/{basket_id}/documents?limit=1").json()
    assert [d["id"] for d in page["documents"]] == ids[:1] and page["next_cursor"]
    rest = (
        client_for(agent_paris)
        .get(f"/api/v1/documents/baskets/{basket_id}/documents", {"cursor": page["next_cursor"]})
        .json()
    )
    assert [d["id"] for d in rest["documents"]] == ids[1:] and rest["next_cursor"] is None
    bad = client_for(agent_paris).get(f"/api/v1/documents/baskets/{basket_id}/documents?cursor=zzz")
    assert bad.status_code == 422


def test_the_deprecated_listing_answers_the_same_json_from_the_items(agent_paris, insured, rib_request):
    """The documents listed by the deprecated endpoint are the JSON the deposit answered (same keys, same values),
    their queue fields read from the items: "claimed", the basket and the transfers follow the console's
    actions. The number of queries does not grow with the page (no N+1)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _person, user = insured
    seed_baskets()
    deposited = (
        client_for(user).post(URL, form(rib_request, ("a.pdf", make_pdf()), ("b.pdf", make_pdf()))).json()
    )
    first, second = deposited["documents"]
    assert set(first) == {
        "id", "document_type", "name", "content_type", "size", "pages", "checksum", "status", "received_at",
        "deadline", "basket", "person_id", "transfers", "rejection_reason",
    }  # fmt: skip
    client = client_for(agent_paris)
    url = f"/api/v1/documents/baskets/{first['basket']['id']}/documents"
    assert client.get(url).json() == {"documents": [first, second], "next_cursor": None}
    with CaptureQueriesContext(connection) as one:
        client.get(url, {"limit": 1})
    with CaptureQueriesContext(connection) as two:
        client.get(url, {"limit": 2})
    assert len(one) == len(two)
    act = "/api/v1/documents/actions"
    client.post(act, {"action": "claim", "document_ids": [first["id"]]}, content_type="application/json")
    droits = next(b["id"] for b in client.get("/api/v1/documents/baskets").json() if b["kind"] == "droits")
    client.post(
        act, {"action": "transfer", "document_ids": [second["id"]], "to_basket": droits, "reason": "état civil"},
        content_type="application/json",
    )  # fmt: skip
    assert client.get(url).json()["documents"] == [{**first, "status": "claimed"}]
    [moved] = client.get(f"/api/v1/documents/baskets/{droits}/documents").json()["documents"]
    assert moved == {**second, "basket": {**second["basket"], "id": droits, "kind": "droits"}, "transfers": 1}


def test_actions_per_document(agent_paris, agent_ain, deposited, settings):
    ids, _basket_id = deposited
    act = "/api/v1/documents/actions"
    other = client_for(agent_ain).post(
        act, {"action": "accept", "document_ids": ids}, content_type="application/json"
    )
    assert other.status_code == 200 and [r["reason"] for r in other.json()] == ["no such document"] * 2
    client = client_for(agent_paris)
    results = client.post(
        act, {"action": "claim", "document_ids": ids[:1]}, content_type="application/json"
    ).json()
    assert results == [{"document_id": ids[0], "ok": True, "reason": ""}]
    results = client.post(
        act, {"action": "accept", "document_ids": ids[:1]}, content_type="application/json"
    ).json()
    assert results[0]["ok"] and Document.objects.get(pk=ids[0]).status == "accepted"
    again = client.post(
        act,
        {"action": "reject", "document_ids": ids[:1], "reason": "illisible"},
        content_type="application/json",
    )
    assert again.json()[0] == {"document_id": ids[0], "ok": False, "reason": "already accepted"}
    no_reason = client.post(
        act, {"action": "reject", "document_ids": ids[1:]}, content_type="application/json"
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["fields"]
    target = client.get("/api/v1/documents/baskets").json()
    droits = next(b["id"] for b in target if b["kind"] == "droits")
    moved = client.post(
        act, {"action": "transfer", "document_ids": ids[1:], "to_basket": droits, "reason": "pièce d'état civil"},
        content_type="application/json",
    )  # fmt: skip
    assert moved.json()[0]["ok"] and Transfer.objects.get().to_basket_id == droits
    assert WorkItem.objects.get(kind="document", subject_id=ids[1]).transfer_count == 1
    unknown = client.post(act, {"action": "burn", "document_ids": ids}, content_type="application/json")
    assert unknown.status_code == 422


def test_ids_beyond_64_bits_name_nothing(agent_paris, insured, rib_request):
    huge = 10**30
    client = client_for(agent_paris)
    assert client.get(f"/api/v1/documents/baskets/{huge}/documents").status_code in (404, 422)
    act = client.post(
        "/api/v1/documents/actions",
        {"action": "accept", "document_ids": [huge]},
        content_type="application/json",
    )
    assert act.status_code == 200 and act.json()[0]["reason"] == "no such document"
    response = client.post(URL, form(rib_request, ("a.pdf", make_pdf()), person_id=huge))
    assert response.status_code in (404, 422)
    assert client.get(f"/api/v1/documents/requests?person_id={huge}").status_code in (404, 422)


def test_an_oversized_upload_is_refused_from_its_size_before_being_read(insured, rib_request, settings):
    settings.OMNIGUICHET_DOCUMENT_MAX_FILE_BYTES = 1024 * 1024
    _person, user = insured
    big = make_pdf() + b"%" * (2 * 1024 * 1024)  # above Django's in-memory limit: spooled to a temporary file
    response = client_for(user).post(URL, form(rib_request, ("big.pdf", big)))
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["files"] == "big.pdf: the file is larger than 1 MB"
    assert not Document.objects.exists()
