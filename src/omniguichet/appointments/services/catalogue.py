"""The shipped catalogue of appointment motives (loaded by a data migration) and the demo sites."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from omniguichet.appointments.models import (
    AgentAvailability,
    AppointmentMotive,
    OpeningHours,
    Site,
)
from omniguichet.referential.models import Caisse, User

SITE_NAMES = ["Accueil principal", "Agence Centre", "Agence Nord", "Agence Sud", "Point d'accueil Est"]


WEEK_HOURS = [(dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(16, 30))]


def seed_sites(
    *, sites_per_caisse: int = 5, agents_per_site: int = 2, caisses: Iterable[Caisse] | None = None
) -> int:
    """Sites for every caisse (Monday-Friday 8:30-12:00 and 13:30-16:30, 15-minute grid), the caisse's demo
    agent at its main site, and `agents_per_site` reception agents per site (no password: the demo logs in as
    agent-<code>). Idempotent: caisses that already have sites are left alone. Returns the sites created."""
    from omniguichet.referential.models import Role

    caisses = list(caisses if caisses is not None else Caisse.objects.all())
    with_sites = set(Site.objects.values_list("caisse_id", flat=True))
    todo = [c for c in caisses if c.code not in with_sites]
    if not todo:
        return 0
    with transaction.atomic():
        sites = Site.objects.bulk_create(
            [
                Site(
                    caisse=c,
                    name=f"{SITE_NAMES[i % len(SITE_NAMES)]} — {c.city}",
                    city=c.city,
                    slot_minutes=15,
                )
                for c in todo
                for i in range(sites_per_caisse)
            ]
        )
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(site=s, weekday=d, opens=o, closes=c)
                for s in sites
                for d in range(5)
                for o, c in WEEK_HOURS
            ]
        )
        names = [f"rdv-{s.caisse_id}-{k}-{j}" for k, s in enumerate(sites) for j in range(agents_per_site)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        new_users = []
        for k, s in enumerate(sites):
            for j in range(agents_per_site):
                name = f"rdv-{s.caisse_id}-{k}-{j}"
                if name not in existing:
                    user = User(username=name, role=Role.RECEPTION_AGENT, caisse_id=s.caisse_id)
                    user.set_unusable_password()
                    new_users.append(user)
        User.objects.bulk_create(new_users)
        users = dict(User.objects.filter(username__in=names).values_list("username", "pk"))
        demo_agents = dict(
            User.objects.filter(username__in=[f"agent-{c.code}" for c in todo]).values_list("caisse_id", "pk")
        )
        availability = []
        for k, s in enumerate(sites):
            agent_ids = [users[f"rdv-{s.caisse_id}-{k}-{j}"] for j in range(agents_per_site)]
            if SITE_NAMES.index(s.name.split(" — ")[0]) == 0 and s.caisse_id in demo_agents:
                agent_ids.append(demo_agents[s.caisse_id])
            for agent_id in agent_ids:
                for d in range(5):
                    for starts, ends in WEEK_HOURS:
                        availability.append(
                            AgentAvailability(site=s, agent_id=agent_id, weekday=d, starts=starts, ends=ends)
                        )
        AgentAvailability.objects.bulk_create(availability)
    return len(sites)


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


# The documents of the shipped motives a person may deposit online beforehand (documents.models.DocumentType).
MOTIVE_DEPOSIT_TYPES: dict[str, list[str]] = {
    "ij_dossier": ["sick_leave_form", "salary_certificate"],
    "css_demande": ["proof_of_income", "bank_details"],
    "carte_vitale": ["identity_document"],
    "autre_accueil": ["identity_document"],
}


def load_deposit_types(model: Any = AppointmentMotive) -> None:
    """Give the shipped motives their deposit types when they have none (edited ones stay)."""
    for code, types in MOTIVE_DEPOSIT_TYPES.items():
        model.objects.filter(code=code, deposit_types=[]).update(deposit_types=types)


def load_appointment_motives(model: Any = AppointmentMotive) -> int:
    """Create the shipped motives that are missing. The model is a parameter so that the data migration can pass
    its historical model."""
    existing = set(model.objects.values_list("code", flat=True))
    model.objects.bulk_create(
        [
            model(
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
    if any(f.name == "deposit_types" for f in model._meta.get_fields()):
        load_deposit_types(model)
    return len(MOTIVES)
