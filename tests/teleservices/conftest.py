import base64
import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from omniguichet.teleservices.models import Reimbursement, SickPayPayment
from tests.accounts.conftest import PASSWORD, code_sink, insured, person  # noqa: F401
from tests.crm.conftest import client_for
from tests.documents.conftest import _document_settings, make_pdf  # noqa: F401  (documents in a test dir)

PDF_BYTES = make_pdf()
PDF_B64 = base64.b64encode(PDF_BYTES).decode()


@pytest.fixture
def app(insured) -> Client:  # noqa: F811
    """The mobile app: the insured person's bearer token."""
    return client_for(insured)


@pytest.fixture
def web(insured, person) -> Client:  # noqa: F811
    client = Client()
    assert client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def history(person):  # noqa: F811
    """Reimbursements and sick-pay payments of the person."""
    today = dt.date.today()
    for i, (label, amount) in enumerate(
        [("Consultation généraliste", "26.50"), ("Pharmacie", "12.30"), ("Kinésithérapie", "16.13")]
    ):
        Reimbursement.objects.create(
            person=person,
            care_date=today - dt.timedelta(days=30 * (i + 1)),
            paid_on=today - dt.timedelta(days=30 * (i + 1) - 3),
            label=label,
            professional="Dr Martin",
            amount_charged=Decimal(amount) + 5,
            amount_reimbursed=Decimal(amount),
        )
    SickPayPayment.objects.create(
        person=person,
        period_from=today - dt.timedelta(days=60),
        period_to=today - dt.timedelta(days=51),
        days=10,
        daily_amount=Decimal("41.20"),
        amount=Decimal("412.00"),
        paid_on=today - dt.timedelta(days=45),
    )


def use(client: Client, code: str, data: dict | None = None, **body):
    return client.post(
        f"/api/v1/teleservices/{code}", {"data": data or {}, **body}, content_type="application/json"
    )
