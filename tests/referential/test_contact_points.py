"""The rule from the field: a verified e-mail or mobile belongs to at most one account; unverified ones may be
shared. Enforced by the database (partial unique index), checked on SQLite and PostgreSQL alike."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict, InvalidInput
from omniguichet.referential.models import ContactPoint
from omniguichet.referential.services import add_contact_point, verify_contact_point

SYSTEM = Actor.system()


def test_database_refuses_a_second_verified_point_with_the_same_value(make_person):
    first, second = make_person(), make_person()
    now = timezone.now()
    ContactPoint.objects.create(
        person=first, kind="mobile", value="+33612345678", verified=True, verified_at=now
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactPoint.objects.create(
            person=second, kind="mobile", value="+33612345678", verified=True, verified_at=now
        )
    assert ContactPoint.objects.filter(value="+33612345678").count() == 1


def test_database_allows_shared_unverified_points(make_person):
    parent, child = make_person(), make_person()
    now = timezone.now()
    ContactPoint.objects.create(
        person=parent, kind="mobile", value="+33612345678", verified=True, verified_at=now
    )
    ContactPoint.objects.create(person=child, kind="mobile", value="+33612345678", verified=False)
    ContactPoint.objects.create(person=make_person(), kind="mobile", value="+33612345678", verified=False)
    assert ContactPoint.objects.filter(value="+33612345678").count() == 3


def test_same_value_of_another_kind_is_not_a_conflict(make_person):
    now = timezone.now()
    ContactPoint.objects.create(
        person=make_person(), kind="email", value="a@b.example", verified=True, verified_at=now
    )
    ContactPoint.objects.create(
        person=make_person(), kind="mobile", value="a@b.example", verified=True, verified_at=now
    )


def test_database_refuses_verified_point_without_date(make_person):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactPoint.objects.create(person=make_person(), kind="email", value="x@y.example", verified=True)


def test_service_normalises_and_reports_conflict_on_the_value_field(make_person):
    first, second = make_person(), make_person()
    point = add_contact_point(
        actor=SYSTEM, channel=Channel.WEB, person=first, kind="mobile", value="06 12 34 56 78", verified=True
    )
    assert point.value == "+33612345678"
    with pytest.raises(Conflict) as exc:
        add_contact_point(
            actor=SYSTEM,
            channel=Channel.WEB,
            person=second,
            kind="mobile",
            value="+33 6 12 34 56 78",
            verified=True,
        )
    assert exc.value.fields == {"value": "already verified for another account"}
    # The unverified copy is accepted, and verifying it is then refused without changing it.
    shared = add_contact_point(
        actor=SYSTEM, channel=Channel.WEB, person=second, kind="mobile", value="0612345678"
    )
    with pytest.raises(Conflict):
        verify_contact_point(actor=SYSTEM, channel=Channel.WEB, point=shared)
    shared.refresh_from_db()
    assert shared.verified is False and shared.verified_at is None


def test_service_lowercases_emails_and_refuses_bad_ones(make_person):
    person = make_person()
    point = add_contact_point(
        actor=SYSTEM, channel=Channel.WEB, person=person, kind="email", value=" Marie@Orange.FR "
    )
    assert point.value == "marie@orange.fr"
    with pytest.raises(InvalidInput) as exc:
        add_contact_point(
            actor=SYSTEM, channel=Channel.WEB, person=person, kind="email", value="marie@@orange"
        )
    assert "value" in exc.value.fields and "e-mail" in exc.value.fields["value"]
    with pytest.raises(InvalidInput) as exc:
        add_contact_point(
            actor=SYSTEM, channel=Channel.WEB, person=person, kind="mobile", value="01 42 34 56 78"
        )
    assert exc.value.fields["value"] == "is not a mobile number (SMS cannot reach it)"
    assert person.contact_points.count() == 1


def test_adding_the_same_point_twice_to_a_person_is_a_conflict(make_person):
    person = make_person()
    add_contact_point(actor=SYSTEM, channel=Channel.WEB, person=person, kind="email", value="m@x.example")
    with pytest.raises(Conflict) as exc:
        add_contact_point(actor=SYSTEM, channel=Channel.WEB, person=person, kind="email", value="M@X.example")
    assert exc.value.fields == {"value": "already recorded"}
