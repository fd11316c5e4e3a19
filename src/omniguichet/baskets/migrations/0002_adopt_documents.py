"""The adopted baskets table takes this app's name and accepts the new kinds (triage, to identify); every document
becomes a work item of kind "document" (open ones keep their basket, claimant and deadline; decided ones are
closed items with their outcome), documents' transfers become work items' transfers and documents' routing rules
become rules of kind "document". Plain SQL, so that millions of documents move in three statements."""

from django.db import migrations, models

TO_ITEMS = """
INSERT INTO baskets_workitem (
    kind, subject_id, person_id, caisse_id, basket_id, summary, received_at, deadline, status, is_open,
    claimed_by_id, claimed_at, decided_by_id, decided_at, outcome, transfer_count, routed_by
)
SELECT 'document', d.id, d.person_id, d.caisse_id, d.basket_id, d.document_type, d.received_at, d.deadline,
       CASE WHEN d.status = 'received' THEN 'open' WHEN d.status = 'claimed' THEN 'claimed' ELSE 'closed' END,
       d.is_open, d.claimed_by_id, d.claimed_at, d.decided_by_id, d.decided_at,
       CASE WHEN d.status IN ('accepted', 'rejected') THEN d.status ELSE '' END, d.transfer_count, 'migration'
FROM documents_document d
WHERE NOT EXISTS (SELECT 1 FROM baskets_workitem w WHERE w.kind = 'document' AND w.subject_id = d.id)
"""

TO_TRANSFERS = """
INSERT INTO baskets_transfer (item_id, from_basket_id, to_basket_id, reason, agent_id, at)
SELECT w.id, t.from_basket_id, t.to_basket_id, t.reason, t.agent_id, t.at
FROM documents_transfer t JOIN baskets_workitem w ON w.kind = 'document' AND w.subject_id = t.document_id
"""

TO_RULES = """
INSERT INTO baskets_routingrule (
    item_kind, document_type, purpose_kind, motive, subject_words, processing_kind, priority
)
SELECT 'document', r.document_type, r.purpose_kind, '', '', r.processing_kind, 100 FROM documents_routingrule r
"""

BACK = [
    "DELETE FROM baskets_transfer",
    "DELETE FROM baskets_workitem WHERE kind = 'document'",
    "DELETE FROM baskets_routingrule WHERE item_kind = 'document'",
]


class Migration(migrations.Migration):
    dependencies = [
        ("baskets", "0001_initial"),
        ("documents", "0006_baskets_app"),
    ]

    operations = [
        migrations.AlterModelTable(name="basket", table=None),
        migrations.RemoveConstraint(model_name="basket", name="basket_kind_known"),
        migrations.AddConstraint(
            model_name="basket",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        ["ij", "remboursements", "droits", "c2s", "general", "triage", "to_identify"],
                    )
                ),
                name="basket_kind_is_known",
            ),
        ),
        migrations.RunSQL(sql=[TO_RULES, TO_ITEMS, TO_TRANSFERS], reverse_sql=BACK),
    ]
