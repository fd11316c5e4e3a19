"""A document's place in the queue (basket, claimant, deadline, transfer count, the "claimed" status) lives on its
work item only (docs/baskets.md, "Who holds what"). Before the columns go, every document's item is checked: a
document without an item gets one, an item that differs from its document is given the document's values (the
mirror was kept in step in one transaction, so none is expected; the count is printed when there is one), then
every document must have its item with the same values, or the migration stops. Backwards, the columns come back
filled from the items. Plain SQL (UPDATE ... FROM: PostgreSQL, SQLite 3.33 and later)."""

from django.conf import settings
from django.db import migrations, models

from omniguichet.baskets.models import SubjectItem

MISSING_ITEMS = """
INSERT INTO baskets_workitem (
    kind, subject_id, person_id, caisse_id, basket_id, summary, received_at, deadline, status, is_open,
    claimed_by_id, claimed_at, decided_by_id, decided_at, outcome, transfer_count, routed_by
)
SELECT 'document', d.id, d.person_id, b.caisse_id, d.basket_id, d.document_type, d.received_at, d.deadline,
       CASE WHEN NOT d.is_open THEN 'closed' WHEN d.claimed_by_id IS NULL THEN 'open' ELSE 'claimed' END,
       d.is_open, d.claimed_by_id, d.claimed_at, d.decided_by_id, d.decided_at,
       CASE WHEN d.is_open THEN '' ELSE d.status END, d.transfer_count, 'migration'
FROM documents_document d JOIN baskets_basket b ON b.id = d.basket_id
WHERE NOT EXISTS (SELECT 1 FROM baskets_workitem w WHERE w.kind = 'document' AND w.subject_id = d.id)
"""

# An item whose queue state differs from its document's (w: the item, d: the document).
DIFFERS = """(
    w.basket_id <> d.basket_id OR w.deadline <> d.deadline OR w.transfer_count <> d.transfer_count
    OR COALESCE(w.claimed_by_id, 0) <> COALESCE(d.claimed_by_id, 0) OR w.is_open <> d.is_open
)"""

COUNT_DIFFERENT = f"""
SELECT COUNT(*) FROM baskets_workitem w JOIN documents_document d ON w.kind = 'document' AND w.subject_id = d.id
WHERE {DIFFERS}
"""

BACKFILL_ITEMS = f"""
UPDATE baskets_workitem AS w SET
    basket_id = d.basket_id, caisse_id = b.caisse_id, deadline = d.deadline, transfer_count = d.transfer_count,
    claimed_by_id = d.claimed_by_id, claimed_at = d.claimed_at, is_open = d.is_open,
    status = CASE WHEN NOT d.is_open THEN 'closed' WHEN d.claimed_by_id IS NULL THEN 'open' ELSE 'claimed' END,
    outcome = CASE WHEN d.is_open THEN '' ELSE d.status END,
    decided_by_id = d.decided_by_id, decided_at = d.decided_at
FROM documents_document d JOIN baskets_basket b ON b.id = d.basket_id
WHERE w.kind = 'document' AND w.subject_id = d.id AND {DIFFERS}
"""

COUNT_MISSING = """
SELECT COUNT(*) FROM documents_document d
WHERE NOT EXISTS (SELECT 1 FROM baskets_workitem w WHERE w.kind = 'document' AND w.subject_id = d.id)
"""

UNCLAIM_STATUS = "UPDATE documents_document SET status = 'received' WHERE status = 'claimed'"

# Backwards: the columns (added again, empty) filled from the items.
FROM_ITEMS = """
UPDATE documents_document AS d SET
    basket_id = w.basket_id, deadline = w.deadline, transfer_count = w.transfer_count,
    claimed_by_id = w.claimed_by_id, claimed_at = w.claimed_at,
    status = CASE WHEN d.is_open AND w.claimed_by_id IS NOT NULL THEN 'claimed' ELSE d.status END
FROM baskets_workitem w
WHERE w.kind = 'document' AND w.subject_id = d.id
"""


def _count(cursor, sql: str) -> int:
    cursor.execute(sql)
    return int(cursor.fetchone()[0])


def items_hold_the_queue_state(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        missing = _count(cursor, COUNT_MISSING)
        if missing:
            cursor.execute(MISSING_ITEMS)
        different = _count(cursor, COUNT_DIFFERENT)
        if different:
            cursor.execute(BACKFILL_ITEMS)
        if missing or different:
            print(
                f"\n  documents 0008: {missing} work item(s) created, {different} given their document's values"
            )
        left = _count(cursor, COUNT_MISSING) + _count(cursor, COUNT_DIFFERENT)
        if left:
            raise RuntimeError(
                f"documents 0008: {left} document(s) still differ from their work item; nothing done"
            )
        cursor.execute(UNCLAIM_STATUS)


def documents_from_items(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FROM_ITEMS)
        if _count(
            cursor, "SELECT COUNT(*) FROM documents_document WHERE basket_id IS NULL OR deadline IS NULL"
        ):
            raise RuntimeError(
                "documents 0008 backwards: a document has no work item to take its basket from"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("baskets", "0002_adopt_documents"),
        ("documents", "0007_remove_transfer_routingrule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="document", name="document_status_known"),
        migrations.RemoveConstraint(model_name="document", name="document_is_open_matches_status"),
        migrations.RemoveIndex(model_name="document", name="document_basket_todo_idx"),
        # Nullable first, so that backwards the columns come back empty before they are filled.
        migrations.AlterField(
            model_name="document",
            name="basket",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=models.PROTECT,
                related_name="documents",
                to="baskets.basket",
            ),
        ),
        migrations.AlterField(
            model_name="document",
            name="deadline",
            field=models.DateTimeField(null=True, verbose_name="deadline"),
        ),
        migrations.RunPython(items_hold_the_queue_state, documents_from_items, elidable=False),
        migrations.RemoveField(model_name="document", name="basket"),
        migrations.RemoveField(model_name="document", name="claimed_at"),
        migrations.RemoveField(model_name="document", name="claimed_by"),
        migrations.RemoveField(model_name="document", name="deadline"),
        migrations.RemoveField(model_name="document", name="transfer_count"),
        migrations.AddField(
            model_name="document",
            name="item",
            field=SubjectItem(item_kind="document"),
        ),
        migrations.AddConstraint(
            model_name="document",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ("received", "accepted", "rejected"))),
                name="document_status_stored",
            ),
        ),
        migrations.AddConstraint(
            model_name="document",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("is_open", True), ("status", "received")),
                    models.Q(("is_open", False), ("status__in", ["accepted", "rejected"])),
                    _connector="OR",
                ),
                name="document_open_until_decided",
            ),
        ),
    ]
