import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from omniguichet.core.services import issue_token
from omniguichet.referential.models import ContactPoint


def client_for(user) -> Client:
    _token, secret = issue_token(user=user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def paris_person(make_person):
    """A person of the Paris caisse with a verified mobile and e-mail."""
    person = make_person(family_name="Lefèvre", birth_date=dt.date(1984, 12, 3))
    now = timezone.now()
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=now
    )
    ContactPoint.objects.create(
        person=person, kind="email", value="marie.lefevre@orange.example", verified=True, verified_at=now
    )
    return person


@pytest.fixture
def ain_person(make_person):
    person = make_person(family_name="Lefèvre", birth_date=dt.date(1984, 12, 3), caisse_code="011")
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33611112222", verified=True, verified_at=timezone.now()
    )
    return person
