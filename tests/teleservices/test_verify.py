"""The public check of an attestation: /verify/<code> and its form, for both kinds of certificate."""

import pytest
from django.test import Client

from omniguichet.referential.validators import mask_nir
from tests.teleservices.conftest import use

pytestmark = pytest.mark.django_db


def test_the_rights_certificate_is_checked_with_its_period_and_masked_nir(app, person):
    code = use(app, "attestation_droits").json()["result"]["verification_code"]
    page = Client().get(f"/verify/?code={code.lower().replace('-', ' ')}")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="genuine"' in body
    assert "Rights open from 01/01/2010" in body and "Certificate of rights" in body
    assert person.nir not in body and mask_nir(person.nir) in body
    unknown = Client().get("/verify/?code=2222-3333-4444")
    assert unknown.status_code == 404 and 'id="unknown"' in unknown.content.decode()
    assert Client().get("/verify/").status_code == 200  # the empty form


def test_the_sick_pay_certificate_is_checked_with_its_period_and_total(app, person, history):
    response = use(app, "attestation_ij", {"date_from": "01/01/2020"})
    code = response.json()["result"]["verification_code"]
    page = Client().get(f"/verify/{code}")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="genuine"' in body
    assert "Certificate of daily allowance payments" in body
    assert "Daily allowances paid from 01/01/2020 to" in body and "412.00" in body
