"""documents 0008 on a database seeded before it: every document's queue state ends on its work item (an item
missing is created, an item that differs takes its document's values), the columns go; backwards, they come back
filled from the items ("claimed" too); forwards again, nothing is lost."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("documents", "0007_remove_transfer_routingrule")]
QUEUE_COLUMNS = {"basket_id", "claimed_by_id", "claimed_at", "deadline", "transfer_count"}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


@pytest.mark.django_db(transaction=True)
def test_the_queue_state_moves_to_the_items_and_back(make_person, agent_paris):
    now = timezone.now().replace(microsecond=0)
    deadline, other_deadline = now + dt.timedelta(days=8), now + dt.timedelta(days=3)
    try:
        old = _migrate(BEFORE)
        assert _columns("documents_document") >= QUEUE_COLUMNS
        person = old.get_model("referential", "Person").objects.get(pk=make_person().pk)
        Basket = old.get_model("baskets", "Basket")
        ij, _ = Basket.objects.get_or_create(caisse_id="751", kind="ij")
        droits, _ = Basket.objects.get_or_create(caisse_id="751", kind="droits")
        deposit = old.get_model("documents", "Deposit").objects.create(
            person=person, caisse_id="751", purpose_kind="request", purpose_ref="1", channel="web",
            actor_kind="insured",
        )  # fmt: skip
        Document, Item = old.get_model("documents", "Document"), old.get_model("baskets", "WorkItem")
        common = dict(
            deposit=deposit, person=person, caisse_id="751", document_type="sick_leave_form", purpose_kind="request",
            purpose_ref="1", original_name="a.pdf", content_type="application/pdf", checksum="0" * 64, size=10,
            received_at=now - dt.timedelta(days=2),
        )  # fmt: skip

        def item(document, **values):
            fields = dict(
                kind="document", subject_id=document.pk, person=person, caisse_id="751", summary="sick_leave_form",
                received_at=document.received_at, deadline=document.deadline, basket_id=document.basket_id,
                transfer_count=document.transfer_count, claimed_by_id=document.claimed_by_id,
                claimed_at=document.claimed_at,
            )  # fmt: skip
            return Item.objects.create(**{**fields, **values})

        in_step = Document.objects.create(
            basket=droits, file="f1", deadline=deadline, transfer_count=1, **common
        )
        item(in_step)
        claimed = Document.objects.create(
            basket=ij, file="f2", status="claimed", claimed_by_id=agent_paris.pk, claimed_at=now,
            deadline=deadline, **common,
        )  # fmt: skip
        item(claimed, status="claimed")
        without_item = Document.objects.create(basket=ij, file="f3", deadline=other_deadline, **common)
        drifted = Document.objects.create(
            basket=droits, file="f4", deadline=deadline, transfer_count=1, **common
        )
        item(drifted, basket_id=ij.pk, deadline=other_deadline, transfer_count=0)
        rejected = Document.objects.create(
            basket=ij, file="f5", status="rejected", is_open=False, rejection_reason="illisible",
            decided_by_id=agent_paris.pk, decided_at=now, deadline=deadline, **common,
        )  # fmt: skip
        item(
            rejected,
            status="closed",
            is_open=False,
            outcome="rejected",
            decided_by_id=agent_paris.pk,
            decided_at=now,
        )

        # Forwards: the items hold the queue state, the document no column of it.
        new = _migrate(_latest())
        assert not QUEUE_COLUMNS & _columns("documents_document")
        from omniguichet.baskets.models import WorkItem
        from omniguichet.documents.models import Document as NewDocument

        items = {i.subject_id: i for i in WorkItem.objects.filter(kind="document")}
        assert set(items) == {in_step.pk, claimed.pk, without_item.pk, drifted.pk, rejected.pk}
        state = lambda i: (i.basket_id, i.deadline, i.transfer_count, i.claimed_by_id, i.status)  # noqa: E731
        assert state(items[in_step.pk]) == (droits.pk, deadline, 1, None, "open")
        assert state(items[claimed.pk]) == (ij.pk, deadline, 0, agent_paris.pk, "claimed")
        assert state(items[without_item.pk]) == (ij.pk, other_deadline, 0, None, "open")
        assert items[without_item.pk].routed_by == "migration"
        assert state(items[drifted.pk]) == (droits.pk, deadline, 1, None, "open")  # the document's values
        assert (items[rejected.pk].is_open, items[rejected.pk].outcome) == (False, "rejected")
        documents = {d.pk: d for d in NewDocument.objects.select_related("item")}
        assert (documents[claimed.pk].status, documents[claimed.pk].state) == ("received", "claimed")
        assert documents[rejected.pk].state == "rejected" and documents[in_step.pk].state == "received"
        assert new is not None

        # Backwards: the columns come back from the items.
        old = _migrate(BEFORE)
        Document = old.get_model("documents", "Document")
        back = {
            d.pk: (d.basket_id, d.deadline, d.transfer_count, d.claimed_by_id, d.status)
            for d in Document.objects.all()
        }
        assert back == {
            in_step.pk: (droits.pk, deadline, 1, None, "received"),
            claimed.pk: (ij.pk, deadline, 0, agent_paris.pk, "claimed"),
            without_item.pk: (ij.pk, other_deadline, 0, None, "received"),
            drifted.pk: (droits.pk, deadline, 1, None, "received"),
            rejected.pk: (ij.pk, deadline, 0, None, "rejected"),
        }
    finally:
        _migrate(_latest())
    assert not QUEUE_COLUMNS & _columns("documents_document")
    from omniguichet.documents.models import Document as NewDocument

    again = NewDocument.objects.select_related("item").get(pk=claimed.pk)
    assert (again.state, again.item.claimed_by_id) == ("claimed", agent_paris.pk)
