"""The motives of the services that the crm taxonomy does not have (loaded by a data migration)."""

from __future__ import annotations

from typing import Any

MOTIVES = {
    "changement_contact": "Changement d'e-mail ou de téléphone",
    "rattachement_enfant": "Rattachement d'un enfant",
    # The one-time codes of the online account (accounts.services.CODE_MOTIVE): the SMS, e-mails and letters sent.
    "compte_en_ligne": "Compte en ligne (activation, connexion, codes)",
}


def load_motives(motive_model: Any = None) -> int:
    """Add the motives above to the crm taxonomy when missing (the data migration passes its historical model)."""
    if motive_model is None:
        from omniguichet.crm.models import Motive as motive_model
    existing = set(motive_model.objects.filter(code__in=MOTIVES).values_list("code", flat=True))
    motive_model.objects.bulk_create(
        [motive_model(code=code, label=label) for code, label in MOTIVES.items() if code not in existing]
    )
    return len(MOTIVES)
