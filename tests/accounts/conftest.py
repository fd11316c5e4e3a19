import datetime as dt

import pytest
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.accounts.services import read_sent_codes
from omniguichet.referential.models import ContactPoint, User

PASSWORD = "Un-mot-de-passe-solide-2026"


@pytest.fixture(autouse=True)
def code_sink(settings, tmp_path):
    settings.ACCOUNTS_CODE_SINK = tmp_path / "codes.jsonl"
    return settings.ACCOUNTS_CODE_SINK


def last_code(purpose: str | None = None) -> str:
    codes = [c for c in read_sent_codes() if purpose is None or c["purpose"] == purpose]
    return codes[-1]["code"]


@pytest.fixture
def person(make_person):
    person = make_person(
        family_name="Lefèvre",
        given_names="Marie",
        birth_date=dt.date(1984, 12, 3),
        address_line="3 rue des Lilas",
        postcode="75011",
        city="Paris",
        rights_from=dt.date(2010, 1, 1),
    )
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    return person


@pytest.fixture
def insured(person) -> User:
    """An activated account with its login (username = NIR)."""
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    return user
