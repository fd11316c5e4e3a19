"""Default routing rules and the contact motive of a deposit. Rules are edited in the admin afterwards."""

from django.db import migrations

# The rules as shipped then (baskets 0002 copies them into the baskets app's routing rules).
RULES = [
    ("bank_details", "", "remboursements"),
    ("bank_details", "case_request", "ij"),
    ("sick_leave_form", "", "ij"),
    ("salary_certificate", "", "ij"),
    ("proof_of_income", "", "c2s"),
    ("proof_of_income", "case_request", "ij"),
    ("birth_certificate", "", "droits"),
    ("proof_of_address", "", "droits"),
    ("identity_document", "", "droits"),
]


def load(apps, schema_editor):
    RoutingRule = apps.get_model("documents", "RoutingRule")
    existing = set(RoutingRule.objects.values_list("document_type", "purpose_kind"))
    RoutingRule.objects.bulk_create(
        RoutingRule(document_type=t, purpose_kind=p, processing_kind=k)
        for t, p, k in RULES
        if (t, p) not in existing
    )
    Motive = apps.get_model("crm", "Motive")
    Motive.objects.update_or_create(code="depot_piece", defaults={"label": "Dépôt de pièce justificative"})


def unload(apps, schema_editor):
    apps.get_model("documents", "RoutingRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial"), ("crm", "0004_contact_subject")]

    operations = [migrations.RunPython(load, unload)]
