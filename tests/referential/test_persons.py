import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput
from omniguichet.referential.models import Person
from omniguichet.referential.services import create_person, get_person, search_term_variants
from tests.conftest import person_data

SYSTEM = Actor.system()


def test_create_person_keeps_identity_and_folds_names(make_person):
    person = make_person(family_name="  Lefèvre ", usage_name="Dupont-Martí")
    assert person.family_name == "Lefèvre"
    assert person.family_name_folded == "lefevre"
    assert person.usage_name_folded == "dupont marti"
    assert person.caisse_id == "751"


def test_wrong_key_is_refused_with_field_and_reason(db):
    data = person_data()
    good_key = data["nir"][13:]
    bad_key = f"{(int(good_key) % 97) + 1:02d}"
    data["nir"] = data["nir"][:13] + bad_key
    with pytest.raises(InvalidInput) as exc:
        create_person(actor=SYSTEM, channel=Channel.BACKOFFICE, **data)
    assert exc.value.fields == {"nir": f"the key {bad_key} does not match, expected {good_key}"}
    assert exc.value.message == f"nir: the key {bad_key} does not match, expected {good_key}"
    assert Person.objects.count() == 0


def test_every_refused_field_is_reported_at_once_and_nothing_is_written(db):
    data = person_data(given_names=" ", caisse_code="999", postcode="75A01")
    data["sex"] = "M"  # the NIR says F
    with pytest.raises(InvalidInput) as exc:
        create_person(actor=SYSTEM, channel=Channel.BACKOFFICE, **data)
    assert set(exc.value.fields) == {"given_names", "caisse", "postcode", "sex"}
    assert exc.value.fields["caisse"] == "unknown caisse 999"
    assert Person.objects.count() == 0


def test_identity_must_match_the_nir(db):
    data = person_data(birth_date=dt.date(1984, 12, 3))
    with pytest.raises(InvalidInput) as exc:
        create_person(
            actor=SYSTEM, channel=Channel.BACKOFFICE, **{**data, "birth_date": dt.date(1985, 12, 3)}
        )
    assert exc.value.fields == {"birth_date": "the year does not match the NIR (84)"}
    with pytest.raises(InvalidInput) as exc:
        create_person(actor=SYSTEM, channel=Channel.BACKOFFICE, **{**data, "birth_place": "69123"})
    assert exc.value.fields == {"birth_place": "does not match the NIR (75056)"}


def test_duplicate_nir_is_a_conflict(make_person):
    person = make_person()
    with pytest.raises(Conflict) as exc:
        create_person(actor=SYSTEM, channel=Channel.BACKOFFICE, **{**person_data(), "nir": person.nir})
    assert exc.value.fields == {"nir": "already registered"}


def test_agent_cannot_register_a_person_in_another_caisse(agent_ain):
    with pytest.raises(Forbidden):
        create_person(
            actor=Actor.agent(agent_ain), channel=Channel.RECEPTION, **person_data(caisse_code="751")
        )
    assert Person.objects.count() == 0


def test_other_caisse_person_is_not_found_for_an_agent_but_visible_nationally(
    make_person, agent_ain, supervisor
):
    from omniguichet.core.errors import NotFound

    person = make_person()
    with pytest.raises(NotFound):
        get_person(actor=Actor.agent(agent_ain), person_id=person.pk)
    assert get_person(actor=Actor.agent(supervisor), person_id=person.pk) == person


def test_dependants_are_attached_to_a_parent(make_person):
    parent = make_person()
    child = make_person(birth_date=dt.date(2015, 4, 2), parent_id=parent.pk)
    assert list(parent.beneficiaries.all()) == [child]


def test_database_checks_rights_period_and_nir_format(make_person):
    person = make_person()
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=person.pk).update(
            rights_from=dt.date(2024, 1, 1), rights_to=dt.date(2023, 1, 1)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=person.pk).update(nir="12345")
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=person.pk).update(sex="X")


def test_search_term_variants():
    assert search_term_variants("06 12 34 56 78") == ["06 12 34 56 78", "+33612345678"]
    assert search_term_variants("Lefèvre") == ["lefevre"]
    assert "284027505600143" in search_term_variants("2 84 02 75 056 001 43")
    assert search_term_variants("Marie@Orange.fr")[-1] == "marie@orange.fr"
    assert search_term_variants("  ") == []
