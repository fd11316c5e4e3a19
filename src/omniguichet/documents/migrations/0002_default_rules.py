"""Default routing rules and the contact motive of a deposit. Rules are edited in the admin afterwards."""

from django.db import migrations

# (document type, purpose kind or "" for every purpose, processing kind)
DEFAULT_RULES = [
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
    for document_type, purpose_kind, processing_kind in DEFAULT_RULES:
        RoutingRule.objects.update_or_create(
            document_type=document_type,
            purpose_kind=purpose_kind,
            defaults={"processing_kind": processing_kind},
        )
    Motive = apps.get_model("crm", "Motive")
    Motive.objects.update_or_create(code="depot_piece", defaults={"label": "Dépôt de pièce justificative"})


def unload(apps, schema_editor):
    apps.get_model("documents", "RoutingRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial"), ("crm", "0004_contact_subject")]

    operations = [migrations.RunPython(load, unload)]
