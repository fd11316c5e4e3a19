import pytest
from django.test import Client
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.referential.models import ContactPoint
from tests.conftest import make_user
from tests.documents.conftest import _document_settings, insured, insured_actor  # noqa: F401 (fixtures)


@pytest.fixture
def ain_insured(make_person, caisse_ain):
    """A person of the Ain caisse with an account (the other-caisse cases)."""
    person = make_person(family_name="Durand", given_names="Paul", caisse_code=caisse_ain.code)
    user = make_user("paul.durand", role="", caisse=None)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    return person, user


@pytest.fixture
def reachable(insured):  # noqa: F811 (the imported fixture)
    """The Paris person with a verified mobile: the answer's notice can go by SMS."""
    person, _user = insured
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33612345678", verified=True, verified_at=timezone.now()
    )
    return insured


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
