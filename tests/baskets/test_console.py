"""The shared baskets: documents, secure messages and e-mails in one console, oldest deadline first; routing by
the rules (motive, words of the subject), triage and "to identify" baskets; claims and transfers kept in step
with the subjects; the API (anonymous 401, another caisse 404, then the valid cases) and its deprecated paths."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from omniguichet.baskets import services as baskets
from omniguichet.baskets.models import Basket, RoutingRule, Transfer, WorkItem
from omniguichet.baskets.services.routing import _plain
from omniguichet.core.actors import Actor
from omniguichet.core.errors import InvalidInput, NotFound
from omniguichet.core.services import issue_token
from omniguichet.documents import services as documents
from omniguichet.documents.models import Document
from omniguichet.messaging import services as messaging
from omniguichet.messaging.services.mailin import receive_email
from omniguichet.referential.models import ContactPoint
from tests.documents.conftest import make_pdf
from tests.messaging.conftest import logged


@pytest.fixture
def work(insured_actor, rib_request):
    """One basket of the Paris caisse with a document (10 days) and a secure message (48 hours) in it."""
    documents.seed_baskets()
    deposit = documents.deposit_documents(
        actor=insured_actor, channel="web", purpose_kind="request", purpose_ref=str(rib_request.pk),
        document_type="bank_details", files=[("rib.pdf", make_pdf())],
    )  # fmt: skip
    message = messaging.write_message(
        actor=insured_actor, channel="web", motive="remboursement", body="Où en est mon remboursement ?"
    )
    return deposit.documents[0], message.thread


def item_of(kind, subject_id):
    return WorkItem.objects.get(kind=kind, subject_id=subject_id)


def test_a_document_and_a_message_wait_in_the_same_basket_oldest_deadline_first(work, agent_paris):
    document, thread = work
    doc_item, msg_item = item_of("document", document.pk), item_of("message", thread.pk)
    # The rules: a bank-details document and a reimbursement message both go to "remboursements".
    assert doc_item.basket_id == msg_item.basket_id == document.item.basket_id
    assert doc_item.basket.kind == "remboursements" and msg_item.routed_by.startswith("rule:")
    assert (msg_item.deadline, msg_item.person_id, msg_item.summary) == (
        thread.deadline,
        thread.person_id,
        thread.subject,
    )
    page = baskets.basket_items(actor=Actor.agent(agent_paris), basket_id=doc_item.basket_id)
    assert [i.pk for i in page.items] == [msg_item.pk, doc_item.pk]  # 48 hours before 10 days
    html = logged(agent_paris).get(f"/agent/baskets/{doc_item.basket_id}/").content.decode()
    assert html.index(f'data-item="{msg_item.pk}"') < html.index(f'data-item="{doc_item.pk}"')
    assert (
        f'href="/agent/messages/{thread.pk}/"' in html
        and f'href="/agent/baskets/documents/{document.pk}/"' in html
    )
    index = logged(agent_paris).get("/agent/baskets/").content.decode()
    assert "document : 1 · secure message : 1" in index


def test_claim_and_transfer_from_the_console_reach_the_subjects(work, agent_paris):
    document, thread = work
    ids = [item_of("document", document.pk).pk, item_of("message", thread.pk).pk]
    client = logged(agent_paris)
    client.post("/agent/baskets/actions/", {"action": "claim", "items": ids})
    document = Document.objects.select_related("item").get(pk=document.pk)
    thread.refresh_from_db()
    assert (document.state, document.item.claimed_by, thread.claimed_by) == (
        "claimed",
        agent_paris,
        agent_paris,
    )
    assert document.status == "received"  # "claimed" is the item's, not stored on the document
    target = Basket.objects.get(caisse_id="751", kind="droits")
    client.post(
        "/agent/baskets/actions/",
        {"action": "transfer", "items": ids, "to_basket": target.pk, "reason": "erreur"},
    )
    assert Transfer.objects.filter(to_basket=target, reason="erreur").count() == 2
    document = Document.objects.select_related("item").get(pk=document.pk)
    assert (document.item.basket_id, document.state, document.item.transfer_count) == (
        target.pk,
        "received",
        1,
    )
    assert set(WorkItem.objects.values_list("basket_id", "routed_by", "claimed_by")) == {
        (target.pk, "transfer", None)
    }


def test_a_kind_action_applies_to_its_kind_only_and_answers_per_item(work, agent_paris):
    document, thread = work
    doc_item, msg_item = item_of("document", document.pk), item_of("message", thread.pk)
    results = baskets.run_kind_action(
        actor=Actor.agent(agent_paris), action="accept", item_ids=[doc_item.pk, msg_item.pk, 999]
    )
    assert [(r.item_id, r.ok) for r in results] == [(doc_item.pk, True), (msg_item.pk, False), (999, False)]
    assert (
        results[1].reason == "this action does not apply to this item"
        and results[2].reason == "no such work item"
    )
    document.refresh_from_db()
    doc_item.refresh_from_db()
    assert document.status == "accepted" and (doc_item.is_open, doc_item.outcome) == (False, "accepted")
    with pytest.raises(InvalidInput) as refused:
        baskets.transfer_items(
            actor=Actor.agent(agent_paris),
            item_ids=[msg_item.pk],
            to_basket_id=doc_item.basket_id,
            reason="  ",
        )
    assert refused.value.fields == {"reason": "between 1 and 300 characters"}


def test_conversations_close_in_bulk_from_the_console(work, agent_paris):
    document, thread = work
    ids = [item_of("message", thread.pk).pk, item_of("document", document.pk).pk]
    logged(agent_paris).post("/agent/baskets/actions/", {"action": "close", "items": ids})
    thread.refresh_from_db()
    assert (thread.status, thread.outcome) == ("closed", "no_action")
    assert item_of("message", thread.pk).outcome == "no_action" and item_of("document", document.pk).is_open
    again = baskets.run_kind_action(actor=Actor.agent(agent_paris), action="close", item_ids=ids[:1])
    assert again[0].ok is False and again[0].reason == "this conversation is already closed"


def test_the_clock_of_a_message_item_stops_and_starts_again(work, agent_paris, insured_actor):
    _document, thread = work
    agent = Actor.agent(agent_paris)
    messaging.answer_thread(actor=agent, channel="backoffice", thread_id=thread.pk, body="Il est parti hier.")
    item = item_of("message", thread.pk)
    assert (item.is_open, item.outcome, item.decided_by) == (False, "answered", agent_paris)
    messaging.write_message(
        actor=insured_actor, channel="web", thread_id=thread.pk, body="Merci, et le suivant ?"
    )
    thread.refresh_from_db()
    item.refresh_from_db()
    assert item.is_open and item.deadline == thread.deadline and item.outcome == ""
    messaging.close_thread(actor=agent, channel="backoffice", thread_id=thread.pk, outcome="resolved")
    item.refresh_from_db()
    assert (item.is_open, item.outcome) == (False, "resolved")


def test_routing_rules_by_motive_and_words_of_the_subject(insured_actor):
    documents.seed_baskets()
    RoutingRule.objects.create(
        item_kind="message",
        motive="",
        subject_words="arret de travail, IJ",
        processing_kind="ij",
        priority=10,
    )
    by_words = messaging.write_message(
        actor=insured_actor, channel="web", motive="autre", subject="Mon ARRÊT de travail", body="x"
    )
    plain = messaging.write_message(
        actor=insured_actor, channel="web", motive="autre", subject="Question", body="y"
    )
    by_motive = messaging.write_message(
        actor=insured_actor, channel="web", motive="css", subject="Question", body="z"
    )
    kinds = {
        t: item_of("message", m.thread_id).basket.kind
        for t, m in (("words", by_words), ("plain", plain), ("motive", by_motive))
    }
    assert kinds == {"words": "ij", "plain": "general", "motive": "c2s"}
    assert item_of("message", plain.thread_id).routed_by == "default"


def test_a_routing_rule_refuses_criteria_its_kind_does_not_use_and_unknown_motives(db):
    with pytest.raises(ValidationError) as refused:
        RoutingRule(item_kind="document", motive="css", processing_kind="c2s").full_clean()
    assert "motive" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        RoutingRule(item_kind="message", motive="no-such", processing_kind="c2s").full_clean()
    assert refused.value.message_dict["motive"] == ["unknown motive"]
    with pytest.raises(ValidationError) as refused:
        RoutingRule(item_kind="message", document_type="bank_details", processing_kind="c2s").full_clean()
    assert "document_type" in refused.value.message_dict
    with pytest.raises(ValidationError):
        RoutingRule(item_kind="message", subject_words=" , ,", processing_kind="c2s").full_clean()
    RoutingRule(item_kind="email", motive="css", subject_words="cmu", processing_kind="c2s").full_clean()


@given(st.text(max_size=40))
def test_subject_matching_ignores_case_and_accents(text):
    assert _plain(text.upper()) == _plain(text.lower()) or not text.isascii()
    assert _plain("É" + text) == "e" + _plain(text) or not text.isascii()


SENDER = "claire.martin@example.org"


def _mail(subject, body, sender=SENDER):
    return (
        f"From: <{sender}>\r\nTo: 751@courriel.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{timezone.now().timestamp()}{subject[:5]}@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()


def test_e_mails_go_to_identify_triage_or_the_rules_basket(insured, agent_paris, settings):
    person, _user = insured
    documents.seed_baskets()
    unknown = receive_email(
        caisse_code="751", data=_mail("Bonjour", "Ma carte vitale est perdue", "x@y.org")
    ).message.thread
    item = item_of("email", unknown.pk)
    assert (item.basket.kind, item.routed_by, item.person_id) == ("to_identify", "unknown_sender", None)
    ContactPoint.objects.create(
        person=person, kind="email", value=SENDER, verified=True, verified_at=timezone.now()
    )
    clear = receive_email(
        caisse_code="751",
        data=_mail(
            "Carte vitale perdue", "Bonjour, j'ai perdu ma carte vitale, comment en avoir une nouvelle ?"
        ),
    ).message.thread
    item = item_of("email", clear.pk)
    assert item.basket.kind == "droits" and item.routed_by.startswith("model,rule:")
    assert item.routing_confidence == clear.suggestion_confidence > 0.5
    settings.OMNIGUICHET_CLASSIFIER_THRESHOLD = 0.999
    vague = receive_email(
        caisse_code="751", data=_mail("Question", "Bonjour, pouvez-vous me rappeler ?")
    ).message.thread
    item = item_of("email", vague.pk)
    assert (item.basket.kind, item.routed_by) == ("triage", "triage") and item.routing_confidence < 0.999
    # The agent identifies the unknown sender: the item leaves "to identify" for the rules' basket.
    messaging.attach_thread(
        actor=Actor.agent(agent_paris),
        channel="backoffice",
        thread_id=unknown.pk,
        person_id=person.pk,
        purpose="Traitement d'un dossier",
    )
    item = item_of("email", unknown.pk)
    assert item.person_id == person.pk and item.basket.kind != "to_identify"
    # A corrected motive moves a triaged item out of triage.
    messaging.correct_motive(
        actor=Actor.agent(agent_paris), channel="backoffice", thread_id=vague.pk, motive="css"
    )
    assert item_of("email", vague.pk).basket.kind == "c2s"


def test_listing_takes_a_fixed_number_of_queries(work, agent_paris, insured_actor, django_assert_num_queries):
    for n in range(3):
        messaging.write_message(
            actor=insured_actor, channel="web", motive="remboursement", body=f"message {n}"
        )
    actor = Actor.agent(agent_paris)
    basket_id = item_of("document", work[0].pk).basket_id
    with django_assert_num_queries(2):
        page = baskets.basket_items(actor=actor, basket_id=basket_id, limit=3)
    with django_assert_num_queries(2):
        rest = baskets.basket_items(actor=actor, basket_id=basket_id, cursor=page.next_cursor, limit=3)
    assert len(page.items) == 3 and len(rest.items) == 2 and rest.next_cursor is None
    assert not {i.pk for i in page.items} & {i.pk for i in rest.items}
    with django_assert_num_queries(2):
        baskets.list_baskets(actor=actor)


def test_pages_other_caisse_and_roles(work, agent_ain, insured):
    document, _thread = work
    basket_id = item_of("document", document.pk).basket_id
    assert "/agent/login/" in Client().get("/agent/baskets/")["Location"]
    _person, user = insured
    assert logged(user).get("/agent/baskets/").status_code == 403
    ain = logged(agent_ain)
    assert ain.get(f"/agent/baskets/{basket_id}/").status_code == 404
    ain.post("/agent/baskets/actions/", {"action": "claim", "items": [item_of("document", document.pk).pk]})
    assert item_of("document", document.pk).claimed_by is None
    with pytest.raises(NotFound):
        baskets.get_item(actor=Actor.agent(agent_ain), item_id=item_of("document", document.pk).pk)


def test_api_anonymous_other_caisse_then_valid(work, agent_paris, agent_ain):
    document, thread = work
    item = item_of("message", thread.pk)
    client = Client()
    assert client.get("/api/v1/baskets").status_code == 401
    ain = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=agent_ain)[1]}"}
    paris = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=agent_paris)[1]}"}
    assert client.get(f"/api/v1/baskets/{item.basket_id}/items", **ain).status_code == 404
    assert client.get(f"/api/v1/baskets/items/{item.pk}", **ain).status_code == 404
    assert all(
        b["caisse"] == "01A" or b["caisse"] != "751" for b in client.get("/api/v1/baskets", **ain).json()
    )
    listed = client.get("/api/v1/baskets", **paris).json()
    mine = next(b for b in listed if b["id"] == item.basket_id)
    assert mine["open"] == 2 and mine["by_kind"] == {"document": 1, "message": 1}
    page = client.get(f"/api/v1/baskets/{item.basket_id}/items?limit=1", **paris).json()
    assert [i["kind"] for i in page["items"]] == ["message"] and page["next_cursor"]
    assert page["items"][0]["url"] == f"/agent/messages/{thread.pk}/"
    rest = client.get(f"/api/v1/baskets/{item.basket_id}/items?cursor={page['next_cursor']}", **paris).json()
    assert [i["summary"] for i in rest["items"]] == [f"bank details (RIB) #{document.pk}"]
    bad = client.get(f"/api/v1/baskets/{item.basket_id}/items?cursor=nope", **paris)
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == {"cursor": "invalid cursor"}
    done = client.post(
        "/api/v1/baskets/actions",
        {"action": "claim", "item_ids": [item.pk, 12345]},
        content_type="application/json",
        **paris,
    )
    assert done.json() == [
        {"item_id": item.pk, "ok": True, "reason": ""},
        {"item_id": 12345, "ok": False, "reason": "no such work item"},
    ]
    # The documents-only paths still answer, marked deprecated in the OpenAPI document.
    assert client.get("/api/v1/documents/baskets", **paris).status_code == 200
    spec = client.get("/api/v1/openapi.json").json()["paths"]
    assert spec["/api/v1/documents/baskets"]["get"]["deprecated"] is True
    assert spec["/api/v1/documents/baskets/{basket_id}/documents"]["get"]["deprecated"] is True
    assert not spec["/api/v1/baskets"]["get"].get("deprecated")


def test_overdue_and_due_soon_badges(work, agent_paris):
    _document, thread = work
    item = item_of("message", thread.pk)
    now = timezone.now()
    WorkItem.objects.filter(pk=item.pk).update(
        received_at=now - dt.timedelta(hours=45), deadline=now + dt.timedelta(hours=3)
    )
    html = logged(agent_paris).get(f"/agent/baskets/{item.basket_id}/").content.decode()
    assert "due soon" in html and "overdue" not in html.split(f'data-item="{item.pk}"')[1].split("</tr>")[0]


def test_a_refused_transfer_redraws_the_basket_with_the_error_under_its_field(work, agent_paris):
    from tests.forms import error_under

    document, _thread = work
    item = item_of("document", document.pk)
    target = Basket.objects.get(caisse_id="751", kind="droits")
    client = logged(agent_paris)
    data = {"action": "transfer", "items": [item.pk], "to_basket": target.pk, "basket": item.basket_id}
    empty = client.post("/agent/baskets/actions/", {**data, "reason": "   "})
    assert empty.status_code == 422 and error_under(empty.content, "reason") == "between 1 and 300 characters"
    too_long = client.post("/agent/baskets/actions/", {**data, "reason": "x" * 301})
    assert too_long.status_code == 422 and "at most 300 characters" in error_under(too_long.content, "reason")
    foreign = client.post("/agent/baskets/actions/", {**data, "reason": "ok", "to_basket": 999999})
    assert foreign.status_code == 422 and "999999" in error_under(foreign.content, "to_basket")
    nothing = client.post("/agent/baskets/actions/", {"action": "claim", "basket": item.basket_id})
    assert nothing.status_code == 422 and b"between 1 and 200 items" in nothing.content
    item.refresh_from_db()
    assert (item.basket_id, item.transfer_count) == (
        document.item.basket_id,
        0,
    ) and not Transfer.objects.exists()


def test_the_document_page_refuses_a_rejection_without_reason_under_the_field(work, agent_paris):
    from tests.forms import error_under

    document, _thread = work
    client = logged(agent_paris)
    refused = client.post(f"/agent/baskets/documents/{document.pk}/", {"action": "reject", "reason": ""})
    assert (
        refused.status_code == 422
        and error_under(refused.content, "reason") == "between 1 and 300 characters"
    )
    document.refresh_from_db()
    assert document.status == "received" and item_of("document", document.pk).is_open
    done = client.post(
        f"/agent/baskets/documents/{document.pk}/", {"action": "reject", "reason": "illisible"}
    )
    assert done.status_code == 302 and done["Location"] == f"/agent/baskets/{document.item.basket_id}/"
    document.refresh_from_db()
    assert (document.status, item_of("document", document.pk).outcome) == ("rejected", "rejected")


def test_a_basket_page_offers_the_other_baskets_of_its_caisse_without_counting_items(work, agent_paris):
    """The transfer choices are the caisse's other baskets; the page reads them without counting the caisse's open
    items (a GROUP BY over every open item of the caisse: about 50,000 at the 5 M items of bench.baskets)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    basket_id = item_of("document", work[0].pk).basket_id
    client = logged(agent_paris)
    client.get(f"/agent/baskets/{basket_id}/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/agent/baskets/{basket_id}/")
    expected = list(Basket.objects.filter(caisse_id="751").exclude(pk=basket_id).order_by("kind"))
    offered = [pk for pk, _label in response.context["form"].fields["to_basket"].choices]
    assert offered == [b.pk for b in expected] and len(expected) == 6
    html = response.content.decode()
    assert all(f'<option value="{b.pk}">' in html for b in expected)
    assert f'<option value="{basket_id}">' not in html
    assert not [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    actor = Actor.agent(agent_paris)
    other = Basket.objects.filter(caisse_id="011").first()
    assert other is not None and baskets.transfer_targets(actor=actor, basket=other) == []


def test_pages_walk_items_with_equal_deadlines_once_each_in_deadline_then_id_order(agent_paris, insured):
    """The keyset (deadline, id): items sharing a deadline across a page boundary are neither skipped nor repeated,
    and the cursor starts the next page at its place in the index, whatever the items before it."""
    person, _user = insured
    baskets.seed_baskets()
    basket = Basket.objects.get(caisse_id="751", kind="general")
    other = Basket.objects.get(caisse_id="751", kind="droits")
    now = timezone.now().replace(microsecond=0)
    deadlines = [now + dt.timedelta(hours=h) for h in (5, 1, 3, 3, 3, 2, 3, 4, 1)]
    for n, deadline in enumerate(deadlines):
        WorkItem.objects.create(
            kind="message", subject_id=1000 + n, person=person, caisse_id="751", basket=basket, summary=f"m{n}",
            received_at=now, deadline=deadline,
        )  # fmt: skip
    WorkItem.objects.create(
        kind="message", subject_id=2000, person=person, caisse_id="751", basket=other, summary="elsewhere",
        received_at=now, deadline=now + dt.timedelta(hours=3),
    )  # fmt: skip
    WorkItem.objects.create(
        kind="message", subject_id=2001, person=person, caisse_id="751", basket=basket, summary="closed",
        received_at=now, deadline=now + dt.timedelta(hours=3), status="closed", is_open=False, outcome="answered",
    )  # fmt: skip
    expected = list(
        WorkItem.objects.filter(basket=basket, is_open=True)
        .order_by("deadline", "id")
        .values_list("pk", flat=True)
    )
    actor = Actor.agent(agent_paris)
    seen, cursor = [], None
    for _ in range(len(expected)):
        page = baskets.basket_items(actor=actor, basket_id=basket.pk, cursor=cursor, limit=2)
        seen += [i.pk for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected and len(expected) == 9
