"""The first reply templates (French, as agents send them); more are added in the admin."""

from django.db import migrations

TEMPLATES = [
    (
        "accuse-reception",
        "Accusé de réception",
        "Bonjour {full_name},\n\nNous avons bien reçu votre message et nous l'étudions. Nous revenons vers vous "
        "dès que possible.\n\nCordialement,\n{caisse_name}",
    ),
    (
        "etat-dossier",
        "État du dossier",
        "Bonjour {full_name},\n\nVotre dossier {case_reference} est actuellement au statut « {case_status} ». "
        "La décision est attendue pour le {decision_date}.\n\nCordialement,\n{caisse_name}",
    ),
    (
        "piece-manquante",
        "Pièce manquante",
        "Bonjour {full_name},\n\nPour traiter votre demande, il nous manque une pièce justificative. Vous pouvez "
        "la déposer depuis votre compte, rubrique « Mes démarches ».\n\nCordialement,\n{caisse_name}",
    ),
]


def add(apps, schema_editor):
    ReplyTemplate = apps.get_model("messaging", "ReplyTemplate")
    for code, label, body in TEMPLATES:
        ReplyTemplate.objects.get_or_create(code=code, defaults={"label": label, "body": body})


def remove(apps, schema_editor):
    apps.get_model("messaging", "ReplyTemplate").objects.filter(
        code__in=[c for c, _l, _b in TEMPLATES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
