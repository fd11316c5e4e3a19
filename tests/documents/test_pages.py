"""Pages: the person's deposit page and the basket console (/agent/baskets/): anonymous -> login, wrong role ->
403, other caisse -> 404, then the work itself (claim, view, accept, reject with a notice, transfer)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from omniguichet.baskets.models import Basket, Transfer, WorkItem
from omniguichet.core.actors import Actor
from omniguichet.core.errors import NotFound
from omniguichet.documents import services
from omniguichet.documents.models import Document, DocumentRequest
from omniguichet.outreach.models import OutboundMessage
from tests.documents.conftest import make_jpeg, make_pdf, make_zip_bomb, stored_files


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the person's pages -------------------------------------------------------------------------------------
def test_person_pages_need_an_account(insured, agent_paris, rib_request):
    response = Client().get("/compte/documents/")
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    # A staff login is not an online account: it is sent to the account's login page too.
    staff = logged(agent_paris).get("/compte/documents/")
    assert staff.status_code == 302 and "/compte/connexion/" in staff["Location"]
    _person, user = insured
    page = logged(user).get("/compte/documents/")
    assert page.status_code == 200 and "Changement de coordonnées bancaires" in page.content.decode()


def test_person_deposits_from_the_web_page(insured, rib_request):
    person, user = insured
    client = logged(user)
    url = f"/compte/documents/depot/?kind=request&ref={rib_request.pk}"
    page = client.get(url)
    assert page.status_code == 200 and 'value="bank_details"' in page.content.decode()
    response = client.post(
        "/compte/documents/depot/",
        {"kind": "request", "ref": rib_request.pk, "document_type": "bank_details",
         "files": [SimpleUploadedFile("rib.pdf", make_pdf())]},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == "/compte/documents/"
    document = Document.objects.get()
    assert (document.person, document.deposit.channel) == (person, "web")
    assert "document(s) received" in client.get("/compte/documents/").content.decode()


def test_web_deposit_refusals_are_shown(insured, rib_request, make_person, _document_settings):
    _person, user = insured
    client = logged(user)
    data = {"kind": "request", "ref": rib_request.pk, "document_type": "bank_details"}
    response = client.post("/compte/documents/depot/", {**data, "files": [SimpleUploadedFile("a.pdf", b"")]})
    assert response.status_code == 422 and "the file is empty" in response.content.decode()
    other = DocumentRequest.objects.create(person=make_person(), document_types=["bank_details"], label="x")
    assert client.get(f"/compte/documents/depot/?kind=request&ref={other.pk}").status_code == 404
    rib_request.status = "closed"
    rib_request.save()
    closed = client.post(
        "/compte/documents/depot/", {**data, "files": [SimpleUploadedFile("a.pdf", make_pdf())]}
    )
    assert closed.status_code == 409 and "this request is closed" in closed.content.decode()
    assert not Document.objects.exists() and stored_files(_document_settings) == []


# --- the basket console -------------------------------------------------------------------------------------
@pytest.fixture
def documents(insured_actor, rib_request):
    services.seed_baskets()
    result = services.deposit_documents(
        actor=insured_actor, channel="web", purpose_kind="request", purpose_ref=str(rib_request.pk),
        document_type="bank_details", files=[("rib.pdf", make_pdf()), ("photo.jpg", make_jpeg())],
    )  # fmt: skip
    return result.documents


def test_console_access(documents, insured, agent_paris, agent_ain):
    doc = documents[0]
    assert "/agent/login/" in Client().get("/agent/baskets/")["Location"]
    _person, user = insured
    assert logged(user).get("/agent/baskets/").status_code == 403
    ain = logged(agent_ain)
    assert f'href="/agent/baskets/{doc.item.basket_id}/"' not in ain.get("/agent/baskets/").content.decode()
    assert ain.get(f"/agent/baskets/{doc.item.basket_id}/").status_code == 404
    assert ain.get(f"/agent/baskets/documents/{doc.pk}/").status_code == 404
    assert ain.get(f"/agent/baskets/documents/{doc.pk}/file/").status_code == 404
    assert ain.post(f"/agent/baskets/documents/{doc.pk}/", {"action": "accept"}).status_code == 404
    item = WorkItem.objects.get(kind="document", subject_id=doc.pk)
    ain.post("/agent/baskets/actions/", {"action": "accept", "items": [item.pk]})
    assert Document.objects.get(pk=doc.pk).status == "received" and WorkItem.objects.get(pk=item.pk).is_open


def test_agent_finds_views_and_accepts(documents, agent_paris):
    doc = documents[0]
    client = logged(agent_paris)
    index = client.get("/agent/baskets/").content.decode()
    assert f'href="/agent/baskets/{doc.item.basket_id}/"' in index
    item = WorkItem.objects.get(kind="document", subject_id=doc.pk)
    listing = client.get(f"/agent/baskets/{doc.item.basket_id}/").content.decode()
    assert f'data-item="{item.pk}"' in listing and "MARTIN Claire" in listing
    assert f'href="/agent/baskets/documents/{doc.pk}/"' in listing
    detail = client.get(f"/agent/baskets/documents/{doc.pk}/").content.decode()
    assert (
        f"/agent/persons/{doc.person_id}/" in detail and f"/agent/baskets/documents/{doc.pk}/file/" in detail
    )
    file = client.get(f"/agent/baskets/documents/{doc.pk}/file/")
    assert file.status_code == 200 and file["Content-Type"] == "application/pdf"
    assert file.content == services.read_plain(doc) and file.content.startswith(b"%PDF")
    assert file["Cache-Control"] == "no-store" and file["X-Frame-Options"] == "SAMEORIGIN"
    response = client.post(
        "/agent/baskets/actions/",
        {"action": "claim", "items": [item.pk], "next": f"/agent/baskets/{doc.item.basket_id}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/agent/baskets/{doc.item.basket_id}/"
    assert Document.objects.select_related("item").get(pk=doc.pk).state == "claimed"
    assert WorkItem.objects.get(pk=item.pk).claimed_by == agent_paris
    # The document's page shows the item's claimant and deadline (one query for the document and its item).
    detail = client.get(f"/agent/baskets/documents/{doc.pk}/").content.decode()
    deadline = timezone.localtime(item.deadline).strftime("%d/%m/%Y")
    assert f"claimed</strong> ({agent_paris.username})" in detail and f"deadline {deadline}" in detail
    assert 'id="claim"' not in detail
    client.post("/agent/baskets/actions/", {"action": "accept", "items": [item.pk]})
    assert Document.objects.get(pk=doc.pk).status == "accepted"
    item.refresh_from_db()
    assert (item.is_open, item.outcome, item.decided_by) == (False, "accepted", agent_paris)
    assert (
        f'data-item="{item.pk}"' not in client.get(f"/agent/baskets/{doc.item.basket_id}/").content.decode()
    )


def test_reject_notifies_the_person_with_a_new_deposit_link(
    documents, agent_paris, _document_settings, django_capture_on_commit_callbacks
):
    doc = documents[0]
    with django_capture_on_commit_callbacks(execute=True):
        logged(agent_paris).post(
            f"/agent/baskets/documents/{doc.pk}/", {"action": "reject", "reason": "document illisible"}
        )
    doc.refresh_from_db()
    assert (doc.status, doc.rejection_reason) == ("rejected", "document illisible")
    messages = list(OutboundMessage.objects.filter(person_id=doc.person_id).order_by("channel"))
    assert messages, "the rejection is written in the outbound message ledger"
    link = f"http://127.0.0.1:8000/compte/documents/depot/?kind=request&ref={doc.purpose_ref}"
    for message in messages:
        assert message.idempotency_key == f"send:document-rejected-{doc.pk}:{message.channel}"
        assert link in message.body and (message.subject_kind, message.subject_ref) == (
            "document",
            str(doc.pk),
        )
    long = [m for m in messages if m.subject]
    assert long and "document illisible" in long[0].body and "Claire Martin" in long[0].body
    # A second rejection of the same document (a replay) sends nothing more: the key is the same.
    services.notify_document_rejected(
        actor=Actor.agent(agent_paris), document=doc, reason="document illisible"
    )
    assert OutboundMessage.objects.filter(person_id=doc.person_id).count() == len(messages)


def test_rejection_sends_nothing_when_the_transaction_rolls_back(documents, agent_paris):
    from django.db import transaction

    doc = documents[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.reject_documents(actor=Actor.agent(agent_paris), document_ids=[doc.pk], reason="illisible")
        raise RuntimeError("rolled back")
    assert not OutboundMessage.objects.exists()
    assert Document.objects.get(pk=doc.pk).status == "received"


def test_bulk_transfer_is_traced_and_counted(documents, agent_paris):
    client = logged(agent_paris)
    target = Basket.objects.get(caisse_id="751", kind="droits")
    ids = list(WorkItem.objects.filter(kind="document").values_list("pk", flat=True))
    client.post(
        "/agent/baskets/actions/",
        {"action": "transfer", "items": ids, "to_basket": target.pk, "reason": "mauvaise corbeille"},
    )
    assert Transfer.objects.filter(to_basket=target).count() == 2
    moved = Document.objects.select_related("item")
    assert {(d.item.basket_id, d.item.transfer_count, d.state) for d in moved} == {(target.pk, 1, "received")}
    report = services.transfer_report(actor=Actor.agent(agent_paris))
    assert (report.total, report.items_received, report.by_route) == (
        2,
        2,
        [("remboursements", "droits", 2)],
    )
    page = client.get("/agent/baskets/").content.decode()
    assert "2 transfers in the last 30 days" in page and "Reimbursements → rights : 2" in page


def test_transfer_to_another_caisses_basket_is_404(documents, agent_paris):
    other = Basket.objects.get(caisse_id="011", kind="droits")
    with pytest.raises(NotFound):
        services.transfer_documents(
            actor=Actor.agent(agent_paris), document_ids=[documents[0].pk], to_basket_id=other.pk, reason="x"
        )


def test_claimed_by_another_agent_is_refused_per_document(documents, agent_paris):
    from tests.conftest import make_user

    colleague = make_user("colleague", role="backoffice_agent", caisse=agent_paris.caisse)
    services.claim_documents(actor=Actor.agent(colleague), document_ids=[documents[0].pk])
    results = services.accept_documents(
        actor=Actor.agent(agent_paris), document_ids=[d.pk for d in documents]
    )
    assert [(r.ok, r.reason) for r in results] == [(False, "claimed by another agent"), (True, "")]


def test_basket_listing_takes_a_fixed_number_of_queries(
    insured_actor, rib_request, agent_paris, django_assert_num_queries
):
    services.seed_baskets()
    for _ in range(3):
        services.deposit_documents(
            actor=insured_actor, channel="web", purpose_kind="request", purpose_ref=str(rib_request.pk),
            document_type="bank_details", files=[("rib.pdf", make_pdf())],
        )  # fmt: skip
    actor = Actor.agent(agent_paris)
    basket = Document.objects.select_related("item__basket").first().item.basket
    # The basket, the page of its document items (baskets.services.basket_items), their documents.
    with django_assert_num_queries(3):
        page = services.basket_documents(actor=actor, basket_id=basket.pk, limit=2)
    assert len(page.documents) == 2 and page.next_cursor
    with django_assert_num_queries(3):
        rest = services.basket_documents(actor=actor, basket_id=basket.pk, cursor=page.next_cursor, limit=2)
    assert len(rest.documents) == 1 and rest.next_cursor is None
    with django_assert_num_queries(0):  # each document carries its item and the item its basket
        assert {(d.item.basket.kind, d.item.transfer_count) for d in page.documents + rest.documents} == {
            (basket.kind, 0)
        }
    with django_assert_num_queries(2):
        summaries = services.list_baskets(actor=actor)
    assert next(s for s in summaries if s.basket.pk == basket.pk).open_count == 3


def test_pages_and_reasons_in_french(documents, agent_paris, insured, rib_request):
    page = logged(agent_paris).get("/agent/baskets/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Corbeilles" in page and "remboursements" in page and "À traiter" in page
    _person, user = insured
    response = logged(user).post(
        "/compte/documents/depot/",
        {"kind": "request", "ref": rib_request.pk, "document_type": "bank_details",
         "files": [SimpleUploadedFile("a.pdf", make_pdf(javascript=True))]},
        HTTP_ACCEPT_LANGUAGE="fr",
    )  # fmt: skip
    assert "fichier a.pdf : le PDF contient du JavaScript" in response.content.decode()


def test_agent_asks_for_and_deposits_documents_on_behalf(insured, agent_paris, agent_ain, _document_settings):
    person, _user = insured
    url = f"/agent/baskets/persons/{person.pk}/"
    assert logged(agent_ain).get(url).status_code == 404
    assert (
        logged(agent_ain)
        .post(url, {"form": "ask", "label": "x", "document_types": ["bank_details"]})
        .status_code
        == 404
    )
    client = logged(agent_paris)
    assert "No open request" in client.get(url).content.decode()
    bad = client.post(url, {"form": "ask", "label": "", "document_types": []})
    assert bad.status_code == 422 and not DocumentRequest.objects.exists()
    client.post(
        url, {"form": "ask", "label": "Justificatif de domicile", "document_types": ["proof_of_address"]}
    )
    request = DocumentRequest.objects.get(person=person)
    assert request.document_types == ["proof_of_address"] and request.requested_by == agent_paris
    response = client.post(
        url,
        {"form": "deposit", "ref": request.pk, "document_type": "proof_of_address", "channel": "letter",
         "files": [SimpleUploadedFile("facture.pdf", make_pdf())]},
    )  # fmt: skip
    assert response.status_code == 302
    document = Document.objects.select_related("item__basket").get()
    assert (document.deposit.channel, document.deposit.agent, document.item.basket.kind) == (
        "letter",
        agent_paris,
        "droits",
    )
    refused = client.post(
        url,
        {"form": "deposit", "ref": f"request:{request.pk}", "document_type": "proof_of_address",
         "channel": "letter", "files": [SimpleUploadedFile("bomb.pdf", make_zip_bomb())]},
    )  # fmt: skip
    assert refused.status_code == 422 and "the file is a ZIP file" in refused.content.decode()
    assert Document.objects.count() == 1
    assert f'value="request:{request.pk}"' in client.get(url).content.decode()


def test_the_basket_shows_each_documents_age_and_deadline_and_counts_the_overdue(documents, agent_paris):
    import datetime as dt
    import re

    from django.utils import timezone

    late, fresh = documents
    now = timezone.now()
    Document.objects.filter(pk=late.pk).update(received_at=now - dt.timedelta(days=4, hours=1))
    WorkItem.objects.filter(subject_id=late.pk).update(
        received_at=now - dt.timedelta(days=4, hours=1), deadline=now - dt.timedelta(days=2)
    )
    WorkItem.objects.filter(subject_id=fresh.pk).update(deadline=now + dt.timedelta(days=10))
    item_of = dict(WorkItem.objects.values_list("subject_id", "pk"))
    client = logged(agent_paris)
    index = client.get("/agent/baskets/").content.decode()
    row = re.search(r'<tr data-basket="remboursements">.*?</tr>', index, re.S).group(0)
    assert re.search(r"<td data-count>2</td>\s*<td><span[^>]*>1</span></td>", row), row
    listing = client.get(f"/agent/baskets/{late.item.basket_id}/").content.decode()
    found = dict(re.findall(r'<tr data-item="(\d+)"[^>]*>(.*?)</tr>', listing, re.S))
    rows = {str(subject): found[str(item)] for subject, item in item_of.items()}
    # Oldest deadline first; the age ("4 days") and the deadline, with an "overdue" badge only when past.
    assert list(found) == [str(item_of[late.pk]), str(item_of[fresh.pk])]
    day = lambda moment: timezone.localtime(moment).strftime("%d/%m/%Y")  # noqa: E731
    assert "4\xa0days" in rows[str(late.pk)] and day(now - dt.timedelta(days=2)) in rows[str(late.pk)]
    assert "overdue" in rows[str(late.pk)] and "overdue" not in rows[str(fresh.pk)]
    assert day(now + dt.timedelta(days=10)) in rows[str(fresh.pk)]


def test_a_routing_rule_edited_in_the_admin_routes_the_next_deposit(insured_actor, rib_request, make_person):
    from omniguichet.baskets.models import RoutingRule
    from tests.conftest import make_user

    admin = make_user("admin", role="national_supervisor")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = logged(admin)
    rule = RoutingRule.objects.get(item_kind="document", document_type="bank_details", purpose_kind="")
    page = client.get(f"/admin/baskets/routingrule/{rule.pk}/change/")
    assert page.status_code == 200
    response = client.post(
        f"/admin/baskets/routingrule/{rule.pk}/change/",
        {"item_kind": "document", "document_type": "bank_details", "purpose_kind": "", "motive": "",
         "subject_words": "", "processing_kind": "droits", "priority": 100},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    result = services.deposit_documents(
        actor=insured_actor, channel="web", purpose_kind="request", purpose_ref=str(rib_request.pk),
        document_type="bank_details", files=[("rib.pdf", make_pdf())],
    )  # fmt: skip
    assert (result.documents[0].item.basket.caisse_id, result.documents[0].item.basket.kind) == (
        "751",
        "droits",
    )
    # The documents' admin list shows each one's basket, deadline and transfers from its item.
    listing = client.get("/admin/documents/document/")
    assert listing.status_code == 200 and str(result.documents[0].item.basket) in listing.content.decode()


def test_the_document_is_shown_with_the_persons_record_beside_it(documents, agent_paris, insured):
    from django.utils import timezone

    from omniguichet.crm.models import Contact, RecordAccess

    doc = documents[0]
    person, _user = insured
    page = logged(agent_paris).get(f"/agent/baskets/documents/{doc.pk}/").content.decode()
    beside = page.split('id="person-record"', 1)[1].split("</div>", 1)[0]
    # The record's facts, its sections (the document itself among the recent documents) and the last contacts.
    assert person.birth_date.strftime("%d/%m/%Y") in beside and person.caisse.name in beside
    assert "Recent documents" in beside and f"/agent/baskets/documents/{doc.pk}/" in beside
    last = beside.split('id="last-contacts">', 1)[1].split("</ul>", 1)[0]
    deposit_contact = Contact.objects.get(person=person)  # the deposit's own contact
    when = timezone.localtime(deposit_contact.started_at).strftime("%d/%m/%Y")
    assert deposit_contact.motive.label in last and when in last
    # Opening it is an opening of the record: written in its access log, with why.
    access = RecordAccess.objects.get(person=person, user=agent_paris)
    assert access.purpose == "Processing of a file"


def test_the_dashboards_figures_of_documents_are_read_from_their_items(
    documents, agent_paris, django_assert_num_queries
):
    import datetime as dt

    late, fresh = documents
    now = timezone.now()
    WorkItem.objects.filter(kind="document", subject_id=late.pk).update(deadline=now - dt.timedelta(days=1))
    WorkItem.objects.filter(kind="document", subject_id=fresh.pk).update(
        deadline=now + dt.timedelta(hours=24)
    )
    with django_assert_num_queries(1):
        figures = services.work_item_figures("751", now)
    assert figures == {"open": 2, "due_soon": 1, "overdue": 1, "in_time": 0, "late": 0}
    assert services.work_item_figures("011", now)["open"] == 0
    services.accept_documents(actor=Actor.agent(agent_paris), document_ids=[late.pk, fresh.pk])
    after = services.work_item_figures(None, timezone.now())
    assert (after["open"], after["overdue"], after["in_time"], after["late"]) == (0, 0, 1, 1)
