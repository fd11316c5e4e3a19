"""Conversations join the shared baskets: the shipped routing rules of messages and e-mails (by motive; edited in
the admin afterwards), and a work item for every conversation already waiting (in the caisse's general basket,
or "to identify" for an unknown sender's e-mail)."""

from django.db import migrations

# motive -> kind of processing; motives not named go to the general basket.
RULES = {
    "attestation_ij": "ij",
    "ij_suivi": "ij",
    "releve_remboursements": "remboursements",
    "remboursement": "remboursements",
    "changement_rib": "remboursements",
    "attestation_droits": "droits",
    "carte_europeenne": "droits",
    "changement_adresse": "droits",
    "carte_vitale": "droits",
    "css": "c2s",
}


def forward(apps, schema_editor):
    RoutingRule = apps.get_model("baskets", "RoutingRule")
    Basket = apps.get_model("baskets", "Basket")
    WorkItem = apps.get_model("baskets", "WorkItem")
    Thread = apps.get_model("messaging", "Thread")
    existing = set(RoutingRule.objects.values_list("item_kind", "motive"))
    RoutingRule.objects.bulk_create(
        RoutingRule(item_kind=kind, motive=motive, processing_kind=processing)
        for kind in ("message", "email")
        for motive, processing in RULES.items()
        if (kind, motive) not in existing
    )
    baskets = {}
    done = set(WorkItem.objects.filter(kind__in=["message", "email"]).values_list("kind", "subject_id"))
    waiting = Thread.objects.filter(status="waiting", deadline__isnull=False).order_by("pk")
    rows = []
    for thread in waiting.iterator(chunk_size=2000):
        kind = "email" if thread.channel == "email" else "message"
        if (kind, thread.pk) in done:
            continue
        processing = "to_identify" if thread.person_id is None else RULES.get(thread.motive_id, "general")
        key = (thread.caisse_id, processing)
        if key not in baskets:
            baskets[key], _created = Basket.objects.get_or_create(caisse_id=thread.caisse_id, kind=processing)
        rows.append(
            WorkItem(
                kind=kind, subject_id=thread.pk, person_id=thread.person_id, caisse_id=thread.caisse_id,
                basket=baskets[key], summary=thread.subject[:200],
                received_at=thread.waiting_since or thread.last_message_at, deadline=thread.deadline,
                status="claimed" if thread.claimed_by_id else "open", claimed_by_id=thread.claimed_by_id,
                routed_by="migration",
            )
        )  # fmt: skip
        if len(rows) >= 2000:
            WorkItem.objects.bulk_create(rows)
            rows = []
    WorkItem.objects.bulk_create(rows)


def backward(apps, schema_editor):
    apps.get_model("baskets", "WorkItem").objects.filter(kind__in=["message", "email"]).delete()
    apps.get_model("baskets", "RoutingRule").objects.filter(item_kind__in=["message", "email"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_email_channel"),
        ("baskets", "0002_adopt_documents"),
    ]

    operations = [migrations.RunPython(forward, backward)]
