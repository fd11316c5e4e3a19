"""The migration to the baskets app on a database seeded before it: every basket (same ids), document, transfer
and routing rule (an edited one too) is kept, and every document and waiting conversation becomes a work item."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("documents", "0005_key_canary"), ("messaging", "0005_email_channel"), ("baskets", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_baskets_documents_transfers_and_rules_survive_the_migration(make_person, agent_paris):
    try:
        old = _migrate(BEFORE)
        person = old.get_model("referential", "Person").objects.get(pk=make_person().pk)
        Basket = old.get_model("documents", "Basket")
        ij = Basket.objects.create(caisse_id="751", kind="ij")
        droits = Basket.objects.create(caisse_id="751", kind="droits")
        Rule = old.get_model("documents", "RoutingRule")
        Rule.objects.create(
            document_type="bank_details", purpose_kind="", processing_kind="general"
        )  # edited
        Rule.objects.create(document_type="bank_details", purpose_kind="case_request", processing_kind="ij")
        rules = set(Rule.objects.values_list("document_type", "purpose_kind", "processing_kind"))
        deposit = old.get_model("documents", "Deposit").objects.create(
            person=person,
            caisse_id="751",
            purpose_kind="request",
            purpose_ref="1",
            channel="web",
            actor_kind="insured",
        )
        Document = old.get_model("documents", "Document")
        now = timezone.now().replace(microsecond=0)
        common = dict(
            deposit=deposit, person=person, caisse_id="751", document_type="sick_leave_form", purpose_kind="request",
            purpose_ref="1", original_name="a.pdf", content_type="application/pdf", checksum="0" * 64, size=10,
            received_at=now - dt.timedelta(days=2), deadline=now + dt.timedelta(days=8),
        )  # fmt: skip
        waiting = Document.objects.create(basket=droits, file="f1", transfer_count=1, **common)
        claimed = Document.objects.create(
            basket=ij, file="f2", status="claimed", claimed_by_id=agent_paris.pk, claimed_at=now, **common
        )
        rejected = Document.objects.create(
            basket=ij, file="f3", status="rejected", is_open=False, rejection_reason="illisible",
            decided_by_id=agent_paris.pk, decided_at=now, **common,
        )  # fmt: skip
        moved_at = now - dt.timedelta(days=1)
        transfer = old.get_model("documents", "Transfer").objects.create(
            document=waiting,
            from_basket=ij,
            to_basket=droits,
            reason="mauvaise corbeille",
            agent_id=agent_paris.pk,
        )
        old.get_model("documents", "Transfer").objects.filter(pk=transfer.pk).update(at=moved_at)
        Thread = old.get_model("messaging", "Thread")
        thread = Thread.objects.create(
            person=person, caisse_id="751", motive_id="css", subject="Ma CSS", status="waiting", opened_at=now,
            last_message_at=now, waiting_since=now, deadline=now + dt.timedelta(hours=48),
        )  # fmt: skip
        unknown = Thread.objects.create(
            caisse_id="751", motive_id="autre", subject="?", status="waiting", channel="email",
            sender_address="x@y.org", opened_at=now, last_message_at=now, waiting_since=now,
            deadline=now + dt.timedelta(hours=48),
        )  # fmt: skip
    finally:
        _migrate(_latest())

    from omniguichet.baskets.models import Basket as NewBasket
    from omniguichet.baskets.models import RoutingRule, Transfer, WorkItem
    from omniguichet.documents.models import Document as NewDocument

    assert set(NewBasket.objects.filter(caisse_id="751").values_list("pk", "kind")) >= {
        (ij.pk, "ij"), (droits.pk, "droits"),
    }  # fmt: skip
    assert NewDocument.objects.select_related("item").get(pk=waiting.pk).item.basket_id == droits.pk
    documents_rules = RoutingRule.objects.filter(item_kind="document")
    assert set(documents_rules.values_list("document_type", "purpose_kind", "processing_kind")) == rules
    assert ("bank_details", "", "general") in rules
    items = {i.subject_id: i for i in WorkItem.objects.filter(kind="document")}
    assert set(items) == {waiting.pk, claimed.pk, rejected.pk}
    first = items[waiting.pk]
    assert (first.basket_id, first.status, first.is_open, first.transfer_count, first.deadline) == (
        droits.pk, "open", True, 1, common["deadline"],
    )  # fmt: skip
    assert (items[claimed.pk].status, items[claimed.pk].claimed_by_id) == ("claimed", agent_paris.pk)
    assert (items[rejected.pk].is_open, items[rejected.pk].outcome) == (False, "rejected")
    [moved] = Transfer.objects.all()
    assert (moved.item_id, moved.from_basket_id, moved.to_basket_id, moved.reason, moved.at) == (
        first.pk, ij.pk, droits.pk, "mauvaise corbeille", moved_at,
    )  # fmt: skip
    conversation = WorkItem.objects.get(kind="message", subject_id=thread.pk)
    assert (conversation.basket.kind, conversation.deadline, conversation.person_id) == (
        "c2s",
        thread.deadline,
        person.pk,
    )
    assert WorkItem.objects.get(kind="email", subject_id=unknown.pk).basket.kind == "to_identify"
    assert RoutingRule.objects.filter(item_kind="message", motive="css", processing_kind="c2s").exists()
