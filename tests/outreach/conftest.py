import datetime as dt

import pytest
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.referential.models import ContactPoint
from tests.conftest import make_user
from tests.crm.conftest import ain_person, paris_person  # noqa: F401  (shared fixtures)


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path):
    settings.OUTREACH_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTREACH_SMS_PROVIDER = "file"
    return settings.OUTREACH_OUTBOX_DIR


@pytest.fixture
def no_quiet_hours(settings):
    """For tests that dispatch SMS at the real time of day: the dispatcher claims no SMS from 20:00 to 08:00
    Paris time, and these tests must pass at night too (the quiet hours have their own tests)."""
    settings.OUTREACH_SMS_QUIET_FROM, settings.OUTREACH_SMS_QUIET_UNTIL = 24, 0


@pytest.fixture
def mobile_only(make_person):
    """A person without an online account, with a verified mobile and e-mail."""
    person = make_person(family_name="Martin", given_names="Paul", birth_date=dt.date(1970, 5, 6))
    now = timezone.now()
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33612345678", verified=True, verified_at=now
    )
    ContactPoint.objects.create(person=person, kind="email", value="paul.martin@example.org", verified=True,
                                verified_at=now)  # fmt: skip
    return person


@pytest.fixture
def with_account(make_person):
    """A person with an online account and its login (so the app: push)."""
    person = make_person(family_name="Durand", given_names="Léa")
    login = make_user(f"lea-{person.pk}", role="")
    Account.objects.create(person=person, opened_at=timezone.now(), user=login)
    return person
