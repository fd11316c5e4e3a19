"""The person reads the refusals in French: field messages and reasons of the API and of the pages."""

import pytest
from django.test import Client
from django.utils import translation

from tests.accounts.conftest import PASSWORD
from tests.crm.conftest import client_for

pytestmark = pytest.mark.django_db


def test_api_refusals_are_in_french(insured, person, settings):
    settings.LANGUAGE_CODE = "fr"
    app = client_for(insured)
    with translation.override("fr"):
        bad = app.post(
            "/api/v1/teleservices/changement_adresse",
            {"data": {"address_line": "1 rue A", "postcode": "7500", "colour": "rouge"}},
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="fr",
        )
        refused = app.post(
            "/api/v1/teleservices/attestation_ij",
            {"data": {}},
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {
        "postcode": "doit comporter 5 chiffres",
        "city": "est obligatoire",
        "colour": "champ inconnu",
    }
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "aucune indemnité journalière ne vous a été versée"


def test_page_refusals_are_in_french(insured, person, settings):
    settings.LANGUAGE_CODE = "fr"
    kiosk = Client(HTTP_ACCEPT_LANGUAGE="fr")
    with translation.override("fr"):
        kiosk.post("/borne/connexion/", {"nir": person.nir, "password": PASSWORD})
        not_offered = kiosk.get("/borne/services/changement_rib/")
        bad = kiosk.post("/borne/services/changement_adresse/", {"postcode": "1", "idempotency_key": "fr-1"})
    assert not_offered.status_code == 403
    assert "pas proposée sur les bornes" in not_offered.content.decode()
    body = bad.content.decode()
    assert bad.status_code == 422 and "doit comporter 5 chiffres" in body and "est obligatoire" in body
