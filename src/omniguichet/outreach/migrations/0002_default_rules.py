"""The default message rules and their templates (case opened, document missing with its reminder, payment made,
card shipped, decision). Edited in the admin afterwards; existing codes are left as they are."""

from django.db import migrations

TEMPLATES = [
    {
        "code": "case-opened", "event_type": "opened",
        "subject": "Votre demande {case_reference} est enregistrée",
        "body": "Bonjour {first_name} {last_name},\n\nNous avons bien enregistré votre demande ({case_type}, "
                "référence {case_reference}). Vous pouvez suivre son avancement dans votre compte.\n\n"
                "Votre caisse d'Assurance Maladie",
        "sms_body": "Assurance Maladie : votre demande {case_reference} ({case_type}) est enregistrée. "
                    "Suivez-la dans votre compte.",
    },
    {
        "code": "document-missing", "event_type": "document_missing",
        "subject": "Il manque une pièce à votre dossier {case_reference}",
        "body": "Bonjour {first_name} {last_name},\n\nPour traiter votre dossier {case_reference} ({case_type}), "
                "il nous manque : {document_label}.\nDéposez-la en ligne : {deposit_url}\n\n"
                "Votre caisse d'Assurance Maladie",
        "sms_body": "Assurance Maladie : il manque {document_label} à votre dossier {case_reference}. "
                    "Déposez-la : {deposit_url}",
    },
    {
        "code": "document-reminder", "event_type": "document_missing",
        "subject": "Rappel : pièce manquante pour votre dossier {case_reference}",
        "body": "Bonjour {first_name} {last_name},\n\nNous n'avons pas encore reçu {document_label} pour votre "
                "dossier {case_reference}. Déposez-la en ligne : {deposit_url}\n\nVotre caisse d'Assurance Maladie",
        "sms_body": "Assurance Maladie, rappel : {document_label} manque toujours à votre dossier "
                    "{case_reference}. Déposez-la : {deposit_url}",
    },
    {
        "code": "payment-made", "event_type": "payment",
        "subject": "Paiement de {amount} effectué",
        "body": "Bonjour {first_name} {last_name},\n\nNous vous avons versé {amount} le {paid_on} "
                "({case_type}, dossier {case_reference}).\n\nVotre caisse d'Assurance Maladie",
        "sms_body": "Assurance Maladie : paiement de {amount} effectué le {paid_on} (dossier {case_reference}).",
    },
    {
        "code": "card-shipped", "event_type": "card_shipped",
        "subject": "Votre {card} est en route",
        "body": "Bonjour {first_name} {last_name},\n\nVotre {card} vient de partir par la poste. "
                "Vous la recevrez dans quelques jours.\n\nVotre caisse d'Assurance Maladie",
        "sms_body": "Assurance Maladie : votre {card} a été envoyée par la poste.",
    },
    {
        "code": "decision", "event_type": "decision",
        "subject": "Décision sur votre dossier {case_reference}",
        "body": "Bonjour {first_name} {last_name},\n\nVotre demande ({case_type}, dossier {case_reference}) a été "
                "{outcome}. Le détail est dans votre compte.\n\nVotre caisse d'Assurance Maladie",
        "sms_body": "Assurance Maladie : une décision a été prise sur votre dossier {case_reference}. "
                    "Consultez votre compte.",
    },
]  # fmt: skip

RULES = [
    {"code": "case-opened", "event_type": "opened", "template": "case-opened",
     "channel_policy": "inbox+push>sms>email>letter"},
    {"code": "document-missing", "event_type": "document_missing", "template": "document-missing",
     "channel_policy": "inbox+push>sms>email>letter", "reminder_after_days": 7,
     "reminder_template": "document-reminder"},
    {"code": "payment-made", "event_type": "payment", "template": "payment-made",
     "channel_policy": "sms>inbox+push>email"},
    {"code": "card-shipped", "event_type": "card_shipped", "template": "card-shipped",
     "channel_policy": "inbox+push>sms>email>letter"},
    {"code": "decision", "event_type": "decision", "template": "decision",
     "channel_policy": "inbox+push>sms>email>letter"},
]  # fmt: skip


def load(apps, schema_editor):
    Template = apps.get_model("outreach", "MessageTemplate")
    Rule = apps.get_model("outreach", "MessageRule")
    for data in TEMPLATES:
        Template.objects.get_or_create(code=data["code"], defaults=data)
    templates = {t.code: t for t in Template.objects.all()}
    for data in RULES:
        data = dict(data)
        data["template"] = templates[data["template"]]
        if "reminder_template" in data:
            data["reminder_template"] = templates[data["reminder_template"]]
        Rule.objects.get_or_create(code=data["code"], defaults=data)


class Migration(migrations.Migration):
    dependencies = [("outreach", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
