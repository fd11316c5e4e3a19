"""Monthly partitions of the contact table and the ledger on PostgreSQL (docs/scale.md, "Partitioned contacts and
ledger"): the partitions made ahead by the task, the default partition, the keys unique across months, and the
plans of the hot queries, captured while the real services run and explained with EXPLAIN."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omniguichet.core import partitions
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.models import Contact, ContactKey
from omniguichet.outreach.models import OutboundKey, OutboundMessage

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only; SQLite keeps one table"
)

NOW = timezone.now()


def contact(person, started_at: dt.datetime, **fields) -> Contact:
    return Contact.objects.create(
        person=person, caisse_id=person.caisse_id, channel="phone", direction="inbound",
        motive_id="remboursement", started_at=started_at, actor_kind="system", **fields,
    )  # fmt: skip


def message(person, key: str, created_at: dt.datetime, **fields) -> OutboundMessage:
    return OutboundMessage.objects.create(
        idempotency_key=key, person=person, channel="email", recipient="x@example.org", body="b",
        not_before=fields.pop("not_before", created_at), created_at=created_at, **fields,
    )  # fmt: skip


def where(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_sqlite_keeps_one_table():
    if connection.vendor == "postgresql":
        assert partitions.partitioned_tables() == {
            "crm_contact": "started_at",
            "outreach_outboundmessage": "created_at",
        }
    else:
        assert partitions.partitioned_tables() == {}
        assert partitions.create_months_ahead().created == []
        assert not partitions.is_partitioned("crm_contact")


def test_months():
    assert partitions.months(dt.date(2026, 11, 17), dt.date(2027, 2, 1)) == [
        dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1),
    ]  # fmt: skip
    assert partitions.partition_name("crm_contact", dt.date(2027, 1, 1)) == "crm_contact_p202701"


@postgresql_only
def test_the_task_creates_the_coming_months_once_per_period(settings):
    from omniguichet.core.tasks import create_partitions_ahead

    settings.PARTITIONS_MONTHS_AHEAD = 6
    sixth = partitions.month_start(NOW)
    for _ in range(6):
        sixth = partitions.next_month(sixth)
    assert partitions.partition_name("crm_contact", sixth) not in partitions.partitions("crm_contact")
    assert create_partitions_ahead.call() >= 2  # two tables, the months 4 to 6 ahead at least
    for table in ("crm_contact", "outreach_outboundmessage"):
        assert partitions.partition_name(table, sixth) in partitions.partitions(table)
    assert create_partitions_ahead.call() == 0  # the same day: the period is taken


@postgresql_only
def test_rows_go_to_their_month_and_anything_else_to_the_default(make_person):
    person = make_person()
    this_month = contact(person, NOW)
    assert where("crm_contact", this_month.pk) == partitions.partition_name("crm_contact", NOW.date())
    long_ago = contact(person, dt.datetime(1990, 5, 1, tzinfo=dt.UTC))
    assert where("crm_contact", long_ago.pk) == "crm_contact_default"
    # The month of a row in the default partition is not created ahead: the row would have to move first.
    report = partitions.create_months("crm_contact", "started_at", [dt.date(1990, 5, 1), dt.date(1990, 6, 1)])
    assert report.skipped == ["crm_contact_p199005"]
    assert report.created == ["crm_contact_p199006"]
    # A contact moved to another month moves to its partition, and the export's change log sees it.
    Contact.objects.filter(pk=long_ago.pk).update(started_at=dt.datetime(1990, 6, 2, tzinfo=dt.UTC))
    assert where("crm_contact", long_ago.pk) == "crm_contact_p199006"


@postgresql_only
def test_an_external_id_is_unique_across_months(make_person):
    person = make_person()
    first = contact(person, NOW, source="tel", external_id="call-1")
    assert ContactKey.objects.get(source="tel", external_id="call-1").contact_id == first.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        contact(person, NOW - dt.timedelta(days=400), source="tel", external_id="call-1")
    # Moved to another month, still found; deleted, its key is free again.
    Contact.objects.filter(pk=first.pk).update(started_at=NOW - dt.timedelta(days=100))
    assert ContactKey.objects.get(source="tel", external_id="call-1").contact_id == first.pk
    Contact.objects.filter(pk=first.pk).delete()
    assert not ContactKey.objects.exists()
    again = contact(person, NOW - dt.timedelta(days=400), source="tel", external_id="call-1")
    assert ContactKey.objects.get(source="tel", external_id="call-1").contact_id == again.pk


@postgresql_only
def test_the_keys_follow_statements_of_many_rows(make_person):
    """The key table is written once per statement (crm migration 0012): many rows at once, each keyed; a
    statement holding the same key twice, or one already taken in another month, fails whole."""
    person = make_person()
    Contact.objects.bulk_create([
        Contact(person=person, caisse_id=person.caisse_id, channel="phone", direction="inbound",
                motive_id="remboursement", started_at=NOW - dt.timedelta(days=40 * i), actor_kind="system",
                source="tel", external_id=f"call-{i}")
        for i in range(5)
    ] + [Contact(person=person, caisse_id=person.caisse_id, channel="phone", direction="inbound",
                 motive_id="remboursement", started_at=NOW, actor_kind="system")])  # fmt: skip
    keys = dict(ContactKey.objects.values_list("external_id", "contact_id"))
    assert keys == dict(Contact.objects.filter(source="tel").values_list("external_id", "pk"))
    assert len(keys) == 5
    twice = [
        Contact(person=person, caisse_id=person.caisse_id, channel="phone", direction="inbound",
                motive_id="remboursement", started_at=started, actor_kind="system", source="tel",
                external_id=external_id)
        for started, external_id in ((NOW, "call-new"), (NOW - dt.timedelta(days=90), "call-new"))
    ]  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.bulk_create(twice)
    twice[1].external_id = "call-3"
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.bulk_create(twice)
    assert ContactKey.objects.count() == 5
    # Several rows deleted in one statement: their keys go, the others stay.
    Contact.objects.filter(external_id__in=["call-0", "call-1"]).delete()
    assert sorted(ContactKey.objects.values_list("external_id", flat=True)) == ["call-2", "call-3", "call-4"]


@postgresql_only
def test_a_contact_moved_to_another_month_with_a_new_key(make_person):
    """One UPDATE that moves the row to another partition (a delete and an insert inside PostgreSQL, which the
    statement triggers do not see as such) and changes its key: the old key is freed, the new one taken."""
    person = make_person()
    first = contact(person, NOW, source="tel", external_id="call-1")
    other = contact(person, NOW, source="tel", external_id="call-2")
    Contact.objects.filter(pk=first.pk).update(started_at=NOW - dt.timedelta(days=200), external_id="call-9")
    assert dict(ContactKey.objects.values_list("external_id", "contact_id")) == {
        "call-9": first.pk, "call-2": other.pk,
    }  # fmt: skip
    # Moved without a new key, and an update that changes neither: the keys stay as they are.
    Contact.objects.filter(pk=other.pk).update(started_at=NOW - dt.timedelta(days=300))
    Contact.objects.filter(pk=first.pk).update(note="rappel")
    assert dict(ContactKey.objects.values_list("external_id", "contact_id")) == {
        "call-9": first.pk, "call-2": other.pk,
    }  # fmt: skip
    # The freed key can be used again; the new one cannot.
    contact(person, NOW - dt.timedelta(days=500), source="tel", external_id="call-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        contact(person, NOW - dt.timedelta(days=500), source="tel", external_id="call-9")


@postgresql_only
def test_a_replay_in_another_month_is_a_duplicate(make_person):
    from omniguichet.crm.services import ingest_contacts

    person = make_person()

    def send(started: dt.datetime) -> str:
        row = {"external_id": "x-1", "person_id": person.pk, "channel": "phone", "direction": "inbound",
               "motive": "remboursement", "started_at": started.isoformat()}  # fmt: skip
        [result] = ingest_contacts(actor=Actor.system(), channel=Channel.BACKOFFICE, source="tel", rows=[row])
        return result.status

    assert send(NOW) == "created"
    assert send(NOW - dt.timedelta(days=300)) == "duplicate"
    assert Contact.objects.count() == 1


@postgresql_only
def test_an_idempotency_key_is_unique_across_months(make_person):
    person = make_person()
    first = message(person, "k-1", NOW)
    assert OutboundKey.objects.get(idempotency_key="k-1").message_id == first.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        message(person, "k-1", NOW - dt.timedelta(days=200))
    # get_or_create (messages a person asks for) finds the message, whatever its month.
    found, created = OutboundMessage.objects.get_or_create(
        idempotency_key="k-1", defaults={"person": person, "body": "b", "not_before": NOW, "created_at": NOW}
    )
    assert (found.pk, created) == (first.pk, False)
    OutboundMessage.objects.filter(pk=first.pk).delete()
    assert not OutboundKey.objects.exists()


# --- the plans of the hot queries -----------------------------------------------------------------------------------
PARTITIONED = ("crm_contact", "outreach_outboundmessage")
SCAN = re.compile(r"\b(?:FROM|JOIN|UPDATE)\s+\"?(crm_contact|outreach_outboundmessage)\b", re.IGNORECASE)


@dataclass
class Expect:
    """What the plans of one service call may do on the partitioned tables."""

    # Every partition may be visited, each through an index (a lookup without the month, chosen and explained
    # in docs/scale.md); otherwise the plan must leave some partitions out.
    every_partition_by_index: bool = False
    # The call must not read the partitioned tables at all (it has a key table or another one to ask).
    untouched: bool = False


def _plan_scans(sql: str) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in the plan of `sql`, sequential scans only where no index serves."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = on")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: list[tuple[str, str]] = []

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            found.append((node["Node Type"], node["Relation Name"]))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _check(name: str, call: Callable[[], object], expect: Expect) -> int:
    """Run the service call, EXPLAIN every statement it sent that reads or updates a partitioned table, and fail
    on a sequential scan of a partition or on a plan that visits every partition when it should not. Returns how
    many statements were explained."""
    with CaptureQueriesContext(connection) as captured:
        call()
    statements = [q["sql"] for q in captured.captured_queries]
    reading = [
        sql for sql in statements
        if SCAN.search(sql) and sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH"))
    ]  # fmt: skip
    if expect.untouched:
        assert not reading, f"{name} reads a partitioned table: {reading}"
        return 0
    counts = {table: len(partitions.partitions(table)) for table in PARTITIONED}
    for sql in reading:
        scans = _plan_scans(sql)
        for table in PARTITIONED:
            visited = {rel for _kind, rel in scans if rel.startswith(table + "_")}
            seq = [rel for kind, rel in scans if kind == "Seq Scan" and rel.startswith(table + "_")]
            assert not seq, f"{name}: sequential scan of {seq} in\n{sql}"
            if not expect.every_partition_by_index:
                assert len(visited) < counts[table], f"{name}: every partition of {table} visited by\n{sql}"
    return len(reading)


@pytest.fixture
def three_years(make_person, agent_paris):
    """36 months of partitions, a person with contacts and messages across them, and queued messages."""
    first = partitions.month_start(NOW - dt.timedelta(days=3 * 365))
    for table, column in (("crm_contact", "started_at"), ("outreach_outboundmessage", "created_at")):
        partitions.create_months(table, column, partitions.months(first, NOW))
    person = make_person()
    for month in partitions.months(first, NOW):
        at = dt.datetime.combine(month, dt.time(10), dt.UTC)
        contact(person, at, source="tel", external_id=f"old-{month:%Y%m}")
        message(person, f"old:{month:%Y%m}", at, state="sent", sent_at=at)
    for i in range(3):
        message(person, f"due:{i}", NOW - dt.timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_contact")
        cursor.execute("ANALYZE outreach_outboundmessage")
    return person


@postgresql_only
def test_hot_queries_use_an_index_and_prune_partitions(three_years, agent_paris, tmp_path, settings):
    from omniguichet.analytics.services import export_warehouse
    from omniguichet.crm.services import ingest_contacts, open_record, search_persons, timeline
    from omniguichet.outreach.services import dispatch_due, write_ledger
    from omniguichet.outreach.services.ledger import Planned

    person = three_years
    agent = Actor.agent(agent_paris)
    assert len(partitions.partitions("crm_contact")) >= 37
    explained = 0

    def record():
        open_record(actor=agent, channel=Channel.PHONE, person_id=person.pk, purpose="call")

    # The record's first page: the person's newest contacts in every month, through the timeline index of each
    # partition (no lower bound of date is known; docs/scale.md).
    explained += _check("record", record, Expect(every_partition_by_index=True))
    page = timeline(person=person, limit=5)
    assert page.next_cursor
    # The next pages: the months after the cursor are left out.
    explained += _check("timeline page 2", lambda: timeline(person=person, cursor=page.next_cursor), Expect())
    explained += _check(
        "search",
        lambda: search_persons(
            actor=agent, channel=Channel.PHONE, q=f"{person.family_name} {person.birth_date:%d/%m/%Y}"
        ),
        Expect(untouched=True),
    )
    rows = [
        {"external_id": f"new-{i}", "person_id": person.pk, "channel": "phone", "direction": "inbound",
         "motive": "remboursement", "started_at": NOW.isoformat()} for i in range(3)
    ] + [{"external_id": "old-" + f"{NOW:%Y%m}", "person_id": person.pk, "channel": "phone",
          "direction": "inbound", "motive": "remboursement", "started_at": NOW.isoformat()}]  # fmt: skip
    # Ingestion: the replay lookup asks the key table; the rows go in by COPY.
    explained += _check(
        "ingestion",
        lambda: ingest_contacts(actor=Actor.system(), channel=Channel.BACKOFFICE, source="tel", rows=rows),
        Expect(untouched=True),
    )
    planned = [
        Planned(key=f"plan:{i}", person=person, subject="s", body="b", sms_body="b", at=NOW) for i in range(3)
    ]
    # The ledger's writer: keys through the key table; the frequency cap reads the person's recent and planned
    # messages of each month through the person index (a message planned now may have been written months ago).
    explained += _check("ledger write", lambda: write_ledger(planned), Expect(every_partition_by_index=True))
    # The export reads contacts by id ranges: every month's primary key (id, started_at) answers.
    settings.ANALYTICS_WAREHOUSE_DIR = str(tmp_path)
    explained += _check(
        "export",
        lambda: export_warehouse(actor=Actor.system(), channel=Channel.BACKOFFICE, out=tmp_path / "w"),
        Expect(every_partition_by_index=True),
    )
    # The dispatcher: the queued messages of each month through its partial index of queued messages.
    explained += _check("dispatch", lambda: dispatch_due(limit=50), Expect(every_partition_by_index=True))
    assert explained >= 5


@postgresql_only
def test_the_plan_check_fails_on_a_scan_without_index_or_without_pruning(three_years):
    person = three_years
    with pytest.raises(AssertionError, match="sequential scan"):
        _check(
            "no index",
            lambda: list(Contact.objects.filter(note="nothing")),
            Expect(every_partition_by_index=True),
        )
    with pytest.raises(AssertionError, match="every partition"):
        _check("no month", lambda: list(Contact.objects.filter(person=person)), Expect())
    with pytest.raises(AssertionError, match="reads a partitioned table"):
        _check("untouched", lambda: list(Contact.objects.filter(person=person)), Expect(untouched=True))
    _check("a month", lambda: list(Contact.objects.filter(person=person, started_at__gte=NOW)), Expect())
