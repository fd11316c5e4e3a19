import io

import pytest
from django.core.management import call_command

from omniguichet.accounts.services import authenticate
from omniguichet.demo.teleservices import DEMO_INSURED_PASSWORD
from omniguichet.referential.models import Person
from omniguichet.teleservices.models import Reimbursement, SickPayPayment

pytestmark = pytest.mark.django_db


def test_seed_gives_every_service_something_to_show():
    out = io.StringIO()
    call_command("seed", persons=300, no_progress=True, stdout=out)
    assert "reimbursements" in out.getvalue() and "Demo insured logins" in out.getvalue()
    assert Reimbursement.objects.count() > 300
    demo = Person.objects.filter(account__user__isnull=False)
    assert demo.count() == 3
    for person in demo:
        assert SickPayPayment.objects.filter(person=person).exists()
        assert authenticate(nir=person.nir, password=DEMO_INSURED_PASSWORD, channel="web").user is not None


def test_seed_append_adds_to_the_new_persons_only():
    call_command("seed", persons=200, no_progress=True, stdout=io.StringIO())
    before = Reimbursement.objects.count()
    out = io.StringIO()
    call_command("seed", persons=100, append=True, seed=7, no_progress=True, stdout=out)
    assert Reimbursement.objects.count() > before and "Demo insured logins" not in out.getvalue()
    assert Person.objects.filter(account__user__isnull=False).count() == 3
    holders = Person.objects.filter(account__isnull=False).count()
    assert (
        Person.objects.filter(account__isnull=False, reimbursements__isnull=False).distinct().count()
        == holders
    )


def test_every_service_is_open_to_the_demo_logins():
    """The demo logins can use every service of the catalogue on the web (rights open, sick pay paid, adult
    holders), and the statement of each has reimbursements to list."""
    from omniguichet.core.actors import Actor
    from omniguichet.teleservices import services

    call_command("seed", persons=300, no_progress=True, stdout=io.StringIO())
    for person in Person.objects.filter(account__user__isnull=False):
        actor = Actor(kind="insured", person_id=person.pk, user=person.account.user)
        offered = services.offered_services(actor=actor, channel="web")
        assert {v.code for v in offered} == set(services.CATALOGUE)
        assert [(v.code, v.reason) for v in offered if not v.available] == []
        assert Reimbursement.objects.filter(person=person).exists()
