"""The database helpers behind the hot paths give the same answers as the plain ORM, on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniguichet.core.actors import Actor
from omniguichet.core.db import PreparedQuery, insert_row, values_subquery
from omniguichet.crm.models import Contact, RecordAccess
from omniguichet.crm.services import record_contact
from omniguichet.referential.models import Person

BY_NAME_START = PreparedQuery(
    lambda limit, *, start, born: (
        Person.objects.select_related("caisse")
        .filter(family_name_folded__startswith=start, birth_date=born)
        .order_by("pk")[:limit]
    )
)


@pytest.fixture
def persons(make_person):
    return [
        make_person(family_name="Dupont", birth_date=dt.date(1984, 12, 3)),
        make_person(family_name="Dupond", birth_date=dt.date(1984, 12, 3)),
        make_person(family_name="Durand", birth_date=dt.date(1984, 12, 3)),
        make_person(family_name="Dupont", birth_date=dt.date(1990, 1, 1)),
    ]


def test_a_prepared_query_answers_like_the_orm_with_new_parameters(persons, django_assert_num_queries):
    first = BY_NAME_START(10, start="dup", born=dt.date(1984, 12, 3))
    assert [p.pk for p in first] == [persons[0].pk, persons[1].pk]
    with django_assert_num_queries(1):  # select_related is honoured: the caisse comes with the person
        again = BY_NAME_START(10, start="dur", born=dt.date(1984, 12, 3))
        assert [(p.pk, p.caisse.name) for p in again] == [(persons[2].pk, persons[2].caisse.name)]
    assert [p.pk for p in BY_NAME_START(1, start="dup", born=dt.date(1984, 12, 3))] == [persons[0].pk]
    assert [p.pk for p in BY_NAME_START(10, start="dupont", born=dt.date(1990, 1, 1))] == [persons[3].pk]


def test_like_wildcards_in_a_parameter_are_literal(persons):
    # "_" and "%" match any character in LIKE: a prepared parameter must escape them as the ORM does.
    assert BY_NAME_START(10, start="du_on", born=dt.date(1984, 12, 3)) == []
    assert BY_NAME_START(10, start="%", born=dt.date(1984, 12, 3)) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.text(alphabet="duportn_%\\ ", min_size=0, max_size=6))
def test_prepared_and_plain_orm_agree_on_any_prefix(persons, start):
    born = dt.date(1984, 12, 3)
    expected = list(
        Person.objects.filter(family_name_folded__startswith=start, birth_date=born).order_by("pk")[:10]
    )
    assert BY_NAME_START(10, start=start, born=born) == expected


def test_datetime_parameters_and_disjunctions(paris_contacts):
    timeline = PreparedQuery(
        lambda *, person_id, when, pk: (
            Contact.objects.filter(person_id=person_id)
            .filter(Q(started_at__lt=when) | Q(started_at=when, pk__lt=pk))
            .order_by("-started_at", "-id")
        )
    )
    person, contacts = paris_contacts
    middle = contacts[2]
    expected = [c.pk for c in sorted(contacts, key=lambda c: (c.started_at, c.pk), reverse=True)]
    expected = expected[expected.index(middle.pk) + 1 :]
    got = timeline(person_id=person.pk, when=middle.started_at, pk=middle.pk)
    assert [c.pk for c in got] == expected
    assert all(c.started_at.tzinfo is not None for c in got)  # converters applied (aware datetimes)


@pytest.fixture
def paris_contacts(make_person):
    person = make_person()
    base = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    contacts = [
        record_contact(
            actor=Actor.system(),
            channel="phone",
            person=person,
            motive="autre",
            started_at=base + dt.timedelta(minutes=10 * (i // 2)),
            answered=bool(i % 2),
        )
        for i in range(6)
    ]
    return person, contacts


def test_an_integer_beyond_64_bits_matches_nothing(persons):
    by_pk = PreparedQuery(lambda *, pk: Person.objects.filter(pk=pk))
    assert by_pk(pk=persons[0].pk) == [persons[0]]
    assert by_pk(pk=2**63) == [] and by_pk(pk=-(2**70)) == []


def test_unused_or_unsupported_parameters_are_refused(db):
    unused = PreparedQuery(lambda *, pk, other: Person.objects.filter(pk=pk))
    with pytest.raises(ValueError, match="other"):
        unused(pk=1, other=2)
    with pytest.raises(TypeError):
        PreparedQuery(lambda *, flag: Person.objects.filter(pk=1))(flag=True)


def test_values_subquery_and_insert_row(paris_contacts, agent_paris):
    person, contacts = paris_contacts
    wanted = [contacts[0].pk, contacts[3].pk, 10**12]
    found = Contact.objects.filter(pk__in=values_subquery(wanted, of="bigint")).values_list("pk", flat=True)
    assert sorted(found) == sorted(wanted[:2])
    assert list(Person.objects.filter(nir__in=values_subquery([person.nir, "x"], of="text"))) == [person]
    with pytest.raises(ValueError):
        values_subquery([1], of="float")
    when = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    insert_row(
        RecordAccess,
        person_id=person.pk,
        user_id=agent_paris.pk,
        purpose="p",
        channel="web",
        accessed_at=when,
    )
    access = RecordAccess.objects.get()
    assert (access.person, access.user, access.accessed_at) == (person, agent_paris, when)


def test_reserved_ids_are_new_and_distinct(paris_contacts, django_assert_num_queries):
    from django.db import connection

    from omniguichet.core.db import reserve_ids

    if connection.vendor != "postgresql":
        assert reserve_ids(Contact, 3) is None  # SQLite: the caller reads its ids back
        return
    assert reserve_ids(Contact, 0) is None
    highest = max(c.pk for c in Contact.objects.all())
    with django_assert_num_queries(1):
        ids = reserve_ids(Contact, 500)
    assert ids is not None and len(set(ids)) == 500 and min(ids) > highest
    again = reserve_ids(Contact, 2)
    assert again is not None and min(again) > max(ids)
