import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Max, Min
from django.utils import timezone

from omniguichet.core.errors import InvalidInput
from omniguichet.crm.models import Contact
from omniguichet.demo.services import CONTACT_HISTORY_DAYS, seed_contacts, seed_population

REFERENCE = dt.date(2026, 6, 1)
WINDOW_START = dt.datetime.combine(REFERENCE - dt.timedelta(days=CONTACT_HISTORY_DAYS), dt.time(), dt.UTC)
WINDOW_END = dt.datetime.combine(REFERENCE, dt.time(), dt.UTC)


def snapshot() -> list[tuple]:
    return sorted(Contact.objects.values_list("person__nir", "channel", "motive_id", "started_at"))


@pytest.fixture
def population(db):
    seed_population(persons=400, seed=11, reference_date=REFERENCE)


@pytest.fixture
def history(db):
    seed_population(persons=1500, seed=3, reference_date=REFERENCE)
    assert seed_contacts(count=20_000, seed=3, reference_date=REFERENCE, chunk_size=4000) == 20_000


def test_same_seed_same_contacts_other_seed_other_contacts(population):
    assert seed_contacts(count=3000, seed=5, reference_date=REFERENCE, chunk_size=700) == 3000
    first = snapshot()
    Contact.objects.all().delete()
    seed_contacts(count=3000, seed=5, reference_date=REFERENCE, chunk_size=250)
    assert snapshot() == first
    Contact.objects.all().delete()
    seed_contacts(count=3000, seed=6, reference_date=REFERENCE)
    other = snapshot()
    assert len(other) == len(first) == 3000
    assert other != first


def test_channel_mix_motives_and_actors_are_realistic(history):
    total = Contact.objects.count()
    assert total == 20_000
    shares = {c: n / total for c, n in Counter(Contact.objects.values_list("channel", flat=True)).items()}
    expected = {"web": 0.45, "app": 0.20, "phone": 0.12, "email": 0.06, "reception": 0.05, "kiosk": 0.02}
    for channel, share in expected.items():
        assert shares.get(channel, 0) == pytest.approx(share, abs=max(0.2 * share, 0.01)), channel
    outbound = sum(shares.get(c, 0) for c in ("sms", "push", "letter"))
    assert outbound == pytest.approx(0.10, abs=0.025)
    actors = set(Contact.objects.values_list("channel", "actor_kind").distinct())
    expected_actor = {
        "web": "insured", "app": "insured", "kiosk": "insured", "phone": "agent", "reception": "agent",
        "email": "agent", "sms": "system", "push": "system", "letter": "system",
    }  # fmt: skip
    assert actors == {(c, a) for c, a in expected_actor.items() if shares.get(c)}
    assert not Contact.objects.filter(agent__isnull=False).exists()
    # Attestations and statements are fetched online; most contacts end resolved.
    self_service = Contact.objects.filter(motive_id__in=["attestation_droits", "releve_remboursements"])
    online = self_service.filter(channel__in=["web", "app"]).count() / self_service.count()
    assert online > 0.75
    assert Contact.objects.filter(outcome="resolved").count() / total > 0.85
    assert Contact.objects.values("motive").distinct().count() >= 10
    assert set(Contact.objects.values_list("source", flat=True).distinct()) == {"demo"}
    assert not Contact.objects.filter(external_id__isnull=False).exists()


def test_some_records_have_many_contacts(history):
    per_person = sorted(
        Contact.objects.values("person").annotate(n=Count("id")).values_list("n", flat=True), reverse=True
    )
    median = per_person[len(per_person) // 2]
    assert per_person[0] > 10 * median
    assert sum(per_person[: len(per_person) // 100]) > 0.08 * 20_000  # the busiest 1% hold more than 8%


def test_outbound_exactly_on_sms_push_and_letter(history):
    outbound = set(Contact.objects.filter(direction="outbound").values_list("channel", flat=True).distinct())
    assert outbound == {"sms", "push", "letter"}
    inbound = set(Contact.objects.filter(direction="inbound").values_list("channel", flat=True).distinct())
    assert not inbound & outbound


def test_channel_specific_facts_only_where_they_belong(history):
    phone = Contact.objects.filter(channel="phone")
    assert not phone.filter(answered__isnull=True).exists()
    assert phone.filter(answered=True).count() / phone.count() == pytest.approx(0.85, abs=0.05)
    assert not Contact.objects.exclude(channel="phone").filter(answered__isnull=False).exists()

    reception = Contact.objects.filter(channel="reception")
    assert not reception.filter(on_appointment__isnull=True).exists()
    assert not reception.filter(waited_seconds__isnull=True).exists()
    assert reception.filter(on_appointment=True).count() / reception.count() == pytest.approx(0.4, abs=0.08)
    waits = reception.values_list("waited_seconds", flat=True)
    assert min(waits) >= 60 and max(waits) <= 3600
    others = Contact.objects.exclude(channel="reception")
    assert not others.filter(on_appointment__isnull=False).exists()
    assert not others.filter(waited_seconds__isnull=False).exists()

    emails = Contact.objects.filter(channel="email")
    answered = emails.filter(responded_at__isnull=False)
    assert answered.count() / emails.count() == pytest.approx(0.9, abs=0.05)
    for started, responded in answered.values_list("started_at", "responded_at"):
        assert dt.timedelta(hours=1) <= responded - started <= dt.timedelta(days=4)
    assert not Contact.objects.exclude(channel="email").filter(responded_at__isnull=False).exists()
    assert not emails.filter(responded_at__isnull=True).exclude(outcome="pending").exists()


def test_contacts_fall_in_the_two_years_before_the_reference_date(history):
    span = Contact.objects.aggregate(first=Min("started_at"), last=Max("started_at"))
    assert span["first"] >= WINDOW_START and span["last"] < WINDOW_END
    assert span["first"] < WINDOW_START + dt.timedelta(days=7)  # the whole two years are covered
    assert not Contact.objects.filter(responded_at__gte=WINDOW_END).exists()
    # Phone and reception follow office hours: no call on a Sunday.
    days = {
        started.weekday()
        for started in Contact.objects.filter(channel="phone").values_list("started_at", flat=True)
    }
    assert 6 not in days


def test_no_contact_in_the_future_by_default(population):
    seed_contacts(count=2000, seed=1)
    now = timezone.now()
    assert not Contact.objects.filter(started_at__gt=now).exists()
    assert not Contact.objects.filter(responded_at__gt=now).exists()
    assert Contact.objects.filter(started_at__gte=now - dt.timedelta(days=60)).exists()


def test_every_contact_is_handled_by_its_persons_caisse(history):
    assert not Contact.objects.exclude(caisse_id=F("person__caisse_id")).exists()
    assert Contact.objects.values("caisse").distinct().count() > 50


def test_refused_without_persons(db):
    with pytest.raises(InvalidInput, match="no persons"):
        seed_contacts(count=10, seed=1)
    with pytest.raises(CommandError, match="no persons"):
        call_command("seed", "--contacts", "10", "--no-progress", stdout=io.StringIO())
    assert not Contact.objects.exists()


def test_command_refuses_to_seed_nothing(db):
    with pytest.raises(CommandError, match="nothing to seed"):
        call_command("seed", stdout=io.StringIO())


def test_command_seeds_persons_and_contacts_then_appends_contacts(db):
    out = io.StringIO()
    call_command("seed", "--persons", "300", "--contacts", "2000", "--seed", "2", "--no-progress", stdout=out)
    assert "300 persons" in out.getvalue()
    assert "2,000 contacts" in out.getvalue() and "contacts/s" in out.getvalue()
    seeded = Contact.objects.exclude(motive_id="depot_piece")  # the demo deposits record their own contacts
    assert seeded.count() == 2000
    # --persons 0: contacts only, added to the existing population (into a table that is no longer empty).
    out = io.StringIO()
    call_command("seed", "--contacts", "500", "--seed", "9", "--no-progress", stdout=out)
    assert "500 contacts" in out.getvalue() and "persons" not in out.getvalue()
    assert seeded.count() == 2500
    # --if-empty keeps its meaning: a database with a population gets nothing more.
    out = io.StringIO()
    call_command("seed", "--persons", "10", "--contacts", "10", "--if-empty", stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert seeded.count() == 2500


def _contact_index_names() -> set[str]:
    from omniguichet.core.db import _secondary_indexes

    return {name for name, _sql in _secondary_indexes(["crm_contact"])}


def test_seed_into_an_empty_table_rebuilds_every_index(population):
    before = _contact_index_names()
    assert {"contact_timeline_idx", "contact_caisse_period_idx"} <= before
    seed_contacts(count=1000, seed=4, reference_date=REFERENCE)
    assert _contact_index_names() == before
    person_id = Contact.objects.values_list("person_id", flat=True).first()
    assert Contact.objects.filter(person_id=person_id).order_by("-started_at", "-id").exists()


def test_the_indexes_rebuilt_after_a_seed_cover_every_partition(population):
    """PostgreSQL, contacts partitioned by month: the indexes dropped for the load are built again on every
    partition, valid (the partitioned index's own definition says ON ONLY, which would build nothing)."""
    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    seed_contacts(count=1000, seed=4, reference_date=REFERENCE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT relid::regclass::text FROM pg_partition_tree('crm_contact') WHERE isleaf")
        leaves = [name for (name,) in cursor.fetchall()]
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = 'crm_contact'::regclass AND NOT i.indisunique"
        )
        parent = dict(cursor.fetchall())
        assert {"contact_timeline_idx", "contact_caisse_period_idx"} <= set(parent)
        assert all(parent.values()), parent
        assert len(leaves) > 1
        for leaf in leaves:
            cursor.execute(
                "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND NOT indisunique AND indisvalid",
                [leaf],
            )
            assert cursor.fetchone()[0] == len(parent), leaf


def test_a_longer_history_is_appended_to_the_contacts_already_there(population):
    """The national bench seeds three years of contacts in steps: each step appends another history (another
    seed) to the same persons, spread over the whole window, with the table's indexes kept."""
    three_years = 3 * 365
    assert seed_contacts(count=2000, seed=1, reference_date=REFERENCE, days=three_years) == 2000
    first = set(Contact.objects.values_list("id", flat=True))
    before = _contact_index_names()
    assert (
        seed_contacts(count=3000, seed=2, reference_date=REFERENCE, days=three_years, chunk_size=700) == 3000
    )
    assert _contact_index_names() == before
    assert Contact.objects.count() == 5000 and first < set(Contact.objects.values_list("id", flat=True))
    start = dt.datetime.combine(REFERENCE - dt.timedelta(days=three_years), dt.time(), dt.UTC)
    span = Contact.objects.aggregate(first=Min("started_at"), last=Max("started_at"))
    assert start <= span["first"] < WINDOW_START  # older than the default two years
    assert span["last"] < WINDOW_END
    third_year = Contact.objects.filter(started_at__lt=WINDOW_START).count()
    assert 5000 * 0.2 < third_year < 5000 * 0.45  # about a third of the history falls in the oldest year
    with pytest.raises(InvalidInput, match="days"):
        seed_contacts(count=10, seed=3, days=0)
