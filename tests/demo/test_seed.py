import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from omniguichet.accounts.models import Account
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict
from omniguichet.demo.services import seed_population
from omniguichet.referential.models import ContactPoint, Employer, Person, Professional, Role, User
from omniguichet.referential.services import create_person
from omniguichet.referential.validators import (
    nir_identity_errors,
    validate_email_address,
    validate_mobile_phone,
    validate_rpps,
    validate_siret,
)
from tests.conftest import person_data

REFERENCE = dt.date(2026, 6, 1)


def snapshot() -> dict:
    persons = list(
        Person.objects.order_by("nir").values_list(
            "nir",
            "given_names",
            "family_name",
            "usage_name",
            "birth_date",
            "sex",
            "birth_place",
            "address_line",
            "postcode",
            "city",
            "caisse_id",
            "status",
            "parent__nir",
            "rights_from",
            "rights_to",
        )
    )
    return {
        "persons": persons,
        "accounts": sorted(Account.objects.values_list("person__nir", "opened_at")),
        "points": sorted(ContactPoint.objects.values_list("person__nir", "kind", "value", "verified")),
        "employers": sorted(Employer.objects.values_list("siret", "name", "caisse_id")),
        "professionals": sorted(Professional.objects.values_list("rpps", "family_name", "profession")),
    }


def wipe() -> None:
    Account.objects.all().delete()
    Person.objects.update(parent=None)
    Person.objects.all().delete()
    Employer.objects.all().delete()
    Professional.objects.all().delete()


def test_same_seed_same_population_other_seed_other_population(db):
    seed_population(persons=1200, seed=7, reference_date=REFERENCE, chunk_size=500)
    first = snapshot()
    wipe()
    seed_population(persons=1200, seed=7, reference_date=REFERENCE, chunk_size=300)
    assert snapshot() == first
    wipe()
    seed_population(persons=1200, seed=8, reference_date=REFERENCE)
    other = snapshot()
    assert other["persons"] != first["persons"]
    assert len(other["persons"]) == len(first["persons"]) == 1200


@pytest.fixture
def seeded(db):
    report = seed_population(persons=3000, seed=3, reference_date=REFERENCE, chunk_size=1000)
    return report


def test_population_is_consistent_and_realistic(seeded):
    assert seeded.persons == Person.objects.count() == 3000
    for nir, sex, birth_date, birth_place in Person.objects.values_list(
        "nir", "sex", "birth_date", "birth_place"
    ):
        assert nir_identity_errors(nir, sex=sex, birth_date=birth_date, birth_place=birth_place) == {}, nir
    adults = Person.objects.filter(parent__isnull=True)
    dependants = Person.objects.filter(parent__isnull=False).select_related("parent")
    assert 0.15 < dependants.count() / 3000 < 0.45
    for child in dependants:
        assert child.caisse_id == child.parent.caisse_id
        assert child.family_name == child.parent.family_name
        assert (REFERENCE - child.birth_date).days < 18 * 366
        assert not hasattr(child, "account") or child.account is None
    account_rate = Account.objects.count() / adults.count()
    assert 0.72 < account_rate < 0.82  # about 77% of adults
    assert Account.objects.filter(person__parent__isnull=False).count() == 0
    with_mobile = ContactPoint.objects.filter(kind="mobile", person__parent__isnull=True).count()
    assert with_mobile / adults.count() > 0.7
    assert Person.objects.values("caisse").distinct().count() > 90
    assert Person.objects.filter(sex="F").count() / 3000 == pytest.approx(0.51, abs=0.05)


def test_contact_points_and_identifiers_are_valid(seeded):
    for kind, value in ContactPoint.objects.values_list("kind", "value"):
        normalise = validate_mobile_phone if kind == "mobile" else validate_email_address
        assert normalise(value) == value
        assert kind == "mobile" or value.endswith(".example")  # never a real mailbox
    duplicates = (
        ContactPoint.objects.filter(verified=True)
        .values("kind", "value")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert (
        ContactPoint.objects.filter(verified=False, kind="mobile")
        .values("value")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    ), "some families share a phone"
    assert all(validate_siret(s) == s for s in Employer.objects.values_list("siret", flat=True))
    assert all(validate_rpps(r) == r for r in Professional.objects.values_list("rpps", flat=True))
    assert Employer.objects.count() == 15 and Professional.objects.count() == 10


def test_every_seeded_row_passes_the_checks_the_admin_makes(seeded):
    """The seed writes rows in bulk, past the model validators: each one must still pass them (field validators
    and the models' clean(), as the admin would run them), so that editing a demo person in the admin works."""
    for model in (Person, Employer, Professional, ContactPoint):
        for row in model.objects.all():
            before = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
            row.full_clean(validate_unique=False, validate_constraints=False)
            after = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
            assert after == before, f"{model.__name__} {row.pk} is not stored in its normalised form"


def test_demo_users_one_agent_per_caisse_and_a_supervisor(seeded):
    agents = User.objects.filter(username__startswith="agent-")
    assert agents.count() == 101
    paris = agents.get(username="agent-751")
    assert paris.caisse_id == "751" and paris.role == Role.MANAGER
    assert paris.check_password("demo-agent-2026")
    supervisor = User.objects.get(username="supervisor")
    assert supervisor.is_national and supervisor.caisse_id is None
    assert supervisor.check_password("demo-supervisor-2026")


def test_seed_refuses_a_populated_database_unless_append(seeded):
    with pytest.raises(Conflict):
        seed_population(persons=10, seed=3)
    with pytest.raises(CommandError, match="already has persons"):
        call_command("seed", "--persons", "10", "--no-progress", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed", "--persons", "10", "--if-empty", stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert Person.objects.count() == 3000
    # The same seed again with --append: new persons, no NIR collision, users not duplicated.
    call_command("seed", "--persons", "500", "--seed", "3", "--append", "--no-progress", stdout=io.StringIO())
    assert Person.objects.count() == 3500
    assert User.objects.filter(username__startswith="agent-").count() == 101


def test_automatic_ids_continue_after_a_seed(seeded):
    # On PostgreSQL the seed writes explicit ids: the id sequence must have been moved past them.
    person = create_person(
        actor=Actor.system(), channel=Channel.BACKOFFICE, **person_data(birth_date=dt.date(1961, 1, 9))
    )
    assert person.pk > 3000


def test_seed_command_reports_what_it_created(db):
    out = io.StringIO()
    call_command("seed", "--persons", "200", "--seed", "1", "--no-progress", stdout=out)
    text = out.getvalue()
    assert "200 persons" in text and "agent-751" in text
    assert Person.objects.count() == 200


def _index_names() -> set[str]:
    from omniguichet.core.db import _secondary_indexes

    tables = [
        "referential_person",
        "referential_contactpoint",
        "accounts_account",
        "referential_consent",
        "referential_channelpreference",
    ]
    return {name for name, _sql in _secondary_indexes(tables)}


def test_seed_into_empty_tables_rebuilds_every_index(db):
    before = _index_names()
    assert {"person_name_birth_idx", "contact_point_lookup_idx"} <= before
    seed_population(persons=300, seed=5, reference_date=REFERENCE)
    assert _index_names() == before
    assert Person.objects.filter(family_name_folded__startswith="a").exists()


def test_a_failed_seed_into_empty_tables_leaves_nothing_and_keeps_the_indexes(db):
    before = _index_names()

    def interrupt(_count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        seed_population(persons=3000, seed=5, reference_date=REFERENCE, chunk_size=500, progress=interrupt)
    assert Person.objects.count() == 0 and ContactPoint.objects.count() == 0
    assert _index_names() == before
