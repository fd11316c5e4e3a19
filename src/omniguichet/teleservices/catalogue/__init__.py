"""The catalogue of online services: one module per service, holding its declaration, its handler and its
templates' names, registered with the engine (`teleservices.services`) when this package is imported, which
teleservices.apps does when the engine is first imported. Adding a service: docs/teleservices.md."""

from omniguichet.teleservices.catalogue import (
    attestation_droits,  # noqa: F401
    attestation_ij,  # noqa: F401
    carte_europeenne,  # noqa: F401
    changement_adresse,  # noqa: F401
    changement_contact,  # noqa: F401
    changement_rib,  # noqa: F401
    css,  # noqa: F401
    perte_vol_vitale,  # noqa: F401
    rattachement_enfant,  # noqa: F401
    releve_remboursements,  # noqa: F401
)
