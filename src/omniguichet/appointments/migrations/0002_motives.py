from django.db import migrations

MOTIVES = [
    # code, label, contact motive, mode, minutes, min hours, max days, documents
    (
        "ij_dossier",
        "Indemnités journalières : point sur mon dossier",
        "ij_suivi",
        "desk",
        30,
        24,
        60,
        "Arrêts de travail, trois derniers bulletins de salaire, attestation de salaire de l'employeur.",
    ),
    (
        "css_demande",
        "Complémentaire santé solidaire : constituer ma demande",
        "css",
        "desk",
        45,
        24,
        60,
        "Avis d'imposition, justificatifs de ressources des 12 derniers mois, RIB.",
    ),
    (
        "carte_vitale",
        "Carte Vitale : commande ou mise à jour",
        "carte_vitale",
        "desk",
        15,
        2,
        30,
        "Pièce d'identité, photo d'identité récente.",
    ),
    (
        "remboursement_rappel",
        "Remboursement de soins : être rappelé",
        "remboursement",
        "phone",
        15,
        2,
        30,
        "",
    ),
    ("ij_rappel", "Indemnités journalières : être rappelé", "ij_suivi", "phone", 15, 2, 30, ""),
    (
        "reclamation_visio",
        "Réclamation : entretien en visioconférence",
        "reclamation",
        "video",
        30,
        48,
        60,
        "Courriers reçus et décomptes concernés.",
    ),
    ("autre_accueil", "Autre demande à l'accueil", "autre", "desk", 15, 2, 30, "Pièce d'identité."),
]


def load(apps, schema_editor):
    AppointmentMotive = apps.get_model("appointments", "AppointmentMotive")
    existing = set(AppointmentMotive.objects.values_list("code", flat=True))
    AppointmentMotive.objects.bulk_create(
        [
            AppointmentMotive(
                code=c,
                label=label,
                contact_motive_id=m,
                mode=mode,
                duration_minutes=d,
                min_delay_hours=lo,
                max_delay_days=hi,
                documents_to_bring=docs,
            )
            for c, label, m, mode, d, lo, hi, docs in MOTIVES
            if c not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial"), ("crm", "0002_load_motives")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
