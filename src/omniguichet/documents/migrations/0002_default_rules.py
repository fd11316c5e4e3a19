"""Default routing rules and the contact motive of a deposit. Rules are edited in the admin afterwards."""

from django.db import migrations


def load(apps, schema_editor):
    from omniguichet.documents.services import load_routing_rules

    load_routing_rules(apps.get_model("documents", "RoutingRule"))
    Motive = apps.get_model("crm", "Motive")
    Motive.objects.update_or_create(code="depot_piece", defaults={"label": "Dépôt de pièce justificative"})


def unload(apps, schema_editor):
    apps.get_model("documents", "RoutingRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial"), ("crm", "0004_contact_subject")]

    operations = [migrations.RunPython(load, unload)]
