import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.models import Contact
from omniguichet.crm.services import MAX_BATCH, ingest_contacts, parse_contact_rows
from tests.conftest import make_user
from tests.crm.conftest import client_for


def row(person, n, **overrides):
    data = {
        "external_id": f"tel-{n}",
        "person_id": person.pk,
        "channel": "phone",
        "direction": "inbound",
        "motive": "remboursement",
        "started_at": "2026-03-02T09:30:00+01:00",
        "answered": True,
    }
    data.update(overrides)
    return data


def post(client, rows, ndjson=False):
    if ndjson:
        body = "\n".join(json.dumps(r) for r in rows)
        return client.post("/api/v1/contacts", body, content_type="application/x-ndjson")
    return client.post("/api/v1/contacts", rows, content_type="application/json")


def test_ingestion_endpoint_requires_a_staff_token(paris_person):
    assert post(Client(), [row(paris_person, 1)]).status_code == 401
    insured_login = make_user("not-staff", role="")
    assert post(client_for(insured_login), [row(paris_person, 1)]).status_code == 403
    assert Contact.objects.count() == 0


def test_per_row_results_and_replay_changes_nothing(paris_person, supervisor):
    telephony = make_user("telephony", role="national_supervisor")
    client = client_for(telephony)
    rows = [
        row(paris_person, 1),
        row(
            paris_person,
            2,
            person_id=None,
            nir=paris_person.nir,
            channel="reception",
            on_appointment=False,
            waited_seconds=840,
            answered=None,
        ),
        row(paris_person, 3, motive="unknown"),
        row(paris_person, 4, started_at="2026-03-02T09:30:00"),  # no offset
        row(paris_person, 5, started_at="2999-01-01T00:00:00+00:00"),
        row(paris_person, 6, person_id=10**9),
        row(paris_person, 1),  # the same id twice in a batch
        "not an object",
        row(paris_person, 7, channel="fax", direction="both"),
    ]
    response = post(client, rows)
    assert response.status_code == 200
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [
        "created",
        "created",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "duplicate",
        "rejected",
        "rejected",
    ]
    assert (body["created"], body["duplicates"], body["rejected"]) == (2, 1, 6)
    errors = [r["errors"] for r in body["results"]]
    assert errors[2] == {"motive": "unknown motive unknown"}
    assert "time zone" in errors[3]["started_at"]
    assert errors[4] == {"started_at": "is in the future"}
    assert errors[5] == {"person_id": "unknown person"}
    assert set(errors[8]) == {"channel", "direction"}
    reception = Contact.objects.get(external_id="tel-2")
    # Each created row answers the id it was stored under (ids are reserved before the COPY on PostgreSQL).
    stored = dict(Contact.objects.values_list("external_id", "pk"))
    assert {r["external_id"]: r["contact_id"] for r in body["results"] if r["status"] == "created"} == stored
    assert (reception.waited_seconds, reception.on_appointment, reception.source) == (840, False, "telephony")
    assert reception.started_at == dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    # Replay, as NDJSON this time: nothing new, the ids of the first run come back.
    again = post(client, [r for r in rows if isinstance(r, dict)], ndjson=True).json()
    assert again["created"] == 0 and again["duplicates"] == 3
    assert again["results"][0]["contact_id"] == body["results"][0]["contact_id"]
    assert Contact.objects.count() == 2


def test_ndjson_and_the_same_external_id_from_another_source(paris_person):
    first, second = (
        make_user("tel-a", role="national_supervisor"),
        make_user("tel-b", role="national_supervisor"),
    )
    a = post(client_for(first), [row(paris_person, 1), row(paris_person, 2)], ndjson=True).json()
    b = post(client_for(second), [row(paris_person, 1)], ndjson=True).json()
    assert a["created"] == 2 and b["created"] == 1  # ids are per source
    assert Contact.objects.count() == 3


def test_an_agent_ingests_only_for_its_caisse(paris_person, ain_person, agent_ain):
    body = post(client_for(agent_ain), [row(paris_person, 1), row(ain_person, 2)]).json()
    assert [r["status"] for r in body["results"]] == ["rejected", "created"]
    assert body["results"][0]["errors"] == {"person_id": "unknown person"}


def test_bad_bodies_are_refused_whole(paris_person, supervisor):
    client = client_for(supervisor)
    response = client.post("/api/v1/contacts", "{not json", content_type="application/json")
    assert response.status_code == 422 and "body" in response.json()["error"]["fields"]
    response = client.post("/api/v1/contacts", {"a": 1}, content_type="application/json")
    assert response.status_code == 422
    too_many = [row(paris_person, i) for i in range(MAX_BATCH + 1)]
    response = post(client, too_many)
    assert response.status_code == 422
    assert (
        response.json()["error"]["fields"]["body"]
        == f"at most {MAX_BATCH} contacts per batch, got {MAX_BATCH + 1}"
    )
    assert Contact.objects.count() == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
contact_keys = st.sampled_from(
    [
        "external_id",
        "person_id",
        "nir",
        "channel",
        "direction",
        "motive",
        "started_at",
        "outcome",
        "note",
        "answered",
        "responded_at",
        "on_appointment",
        "waited_seconds",
    ]
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    rows=st.lists(st.one_of(json_values, st.dictionaries(contact_keys, json_values, max_size=13)), max_size=8)
)
def test_any_json_rows_get_one_result_each_and_never_crash(paris_person, rows):
    results = ingest_contacts(actor=Actor.system(), channel=Channel.BACKOFFICE, rows=rows, source="fuzz")
    assert [r.index for r in results] == list(range(len(rows)))
    assert all(r.status in {"created", "duplicate", "rejected"} for r in results)
    assert all(r.errors for r in results if r.status == "rejected")
    created = {r.contact_id for r in results if r.status == "created"}
    assert set(Contact.objects.filter(pk__in=created).values_list("pk", flat=True)) == created


@given(st.binary(max_size=200))
def test_parse_contact_rows_accepts_or_explains(body):
    from omniguichet.core.errors import InvalidInput

    for content_type in ("application/json", "application/x-ndjson"):
        try:
            rows = parse_contact_rows(body, content_type)
        except InvalidInput as exc:
            assert "body" in exc.fields
        else:
            assert isinstance(rows, list)


def test_a_concurrent_replay_is_reported_as_duplicates(paris_person, monkeypatch):
    """Another request stores the same external id after our check for existing ids: the unique index refuses
    the second copy and the batch is read again once, reporting a duplicate instead of failing."""
    ingest_contacts(
        actor=Actor.system(), channel=Channel.BACKOFFICE, source="tel", rows=[row(paris_person, 1)]
    )
    from omniguichet.crm.services import ingest as ingest_module

    original_lookup = ingest_module._known_external_ids
    blind = []

    def lookup_blind_once(source, external_ids):
        if not blind:
            blind.append(True)  # the first check misses the row "the other request" just stored
            return {}
        return original_lookup(source, external_ids)

    monkeypatch.setattr(ingest_module, "_known_external_ids", lookup_blind_once)
    results = ingest_contacts(
        actor=Actor.system(),
        channel=Channel.BACKOFFICE,
        source="tel",
        rows=[row(paris_person, 1), row(paris_person, 2)],
    )
    assert [r.status for r in results] == ["duplicate", "created"]
    assert blind == [True]
    assert Contact.objects.count() == 2


def test_a_body_over_the_size_limit_is_refused_whole(paris_person, supervisor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    rows = [row(paris_person, i, note="x" * 3000) for i in range(400)]  # about 1.3 MB
    response = post(client_for(supervisor), rows)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large" and "body" in response.json()["error"]["fields"]
    assert Contact.objects.count() == 0


def test_a_row_may_say_what_it_concerns(paris_person):
    client = client_for(make_user("tel-subject", role="national_supervisor"))
    base = {"person_id": paris_person.pk, "channel": "phone", "direction": "inbound", "motive": "autre",
            "started_at": "2026-03-02T09:30:00+01:00"}  # fmt: skip
    rows = [
        base | {"external_id": "s-1", "subject_kind": "case", "subject_ref": 42},
        base | {"external_id": "s-2", "subject_kind": "case"},
        base | {"external_id": "s-3", "subject_kind": "planet", "subject_ref": "1"},
        base | {"external_id": "s-4", "subject_ref": ["x"]},
    ]
    body = post(client, rows).json()
    assert [r["status"] for r in body["results"]] == ["created", "rejected", "rejected", "rejected"]
    assert set(body["results"][1]["errors"]) == {"subject_ref"}
    assert set(body["results"][2]["errors"]) == {"subject_kind"}
    assert set(body["results"][3]["errors"]) == {"subject_ref"}
    contact = Contact.objects.get(external_id="s-1")
    assert (contact.subject_kind, contact.subject_ref) == ("case", "42")


def test_the_replay_check_probes_the_index_whatever_the_statistics(paris_person):
    """PostgreSQL: statistics taken before a source's first contacts (on a large table, automatic ANALYZE waits
    for a tenth of the rows to change) must not turn the check for already-received ids into a comparison of
    every contact of the source with every id of the batch (bench/national.py saw each batch slower than the
    previous one). The check probes the unique index (or the key table's primary key) with both columns, one id
    at a time."""
    if connection.vendor != "postgresql":
        pytest.skip("the planner's choice is PostgreSQL's")
    system = Actor.system()
    # A table of some size (on a tiny one a sequential scan is the right plan), none of its contacts from "tel".
    legacy = [row(paris_person, n) for n in range(5000)]
    ingest_contacts(actor=system, channel=Channel.BACKOFFICE, source="legacy", rows=legacy)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_contact")
        cursor.execute("SELECT to_regclass('crm_contactkey') IS NOT NULL")
        if cursor.fetchone()[0]:  # the contacts partitioned by month: the check reads their key table
            cursor.execute("ANALYZE crm_contactkey")
    ingest_contacts(
        actor=system,
        channel=Channel.BACKOFFICE,
        source="tel",
        rows=[row(paris_person, n) for n in range(300)],
    )
    with CaptureQueriesContext(connection) as captured:
        results = ingest_contacts(
            actor=system,
            channel=Channel.BACKOFFICE,
            source="tel",
            rows=[row(paris_person, n) for n in range(290, 310)],
        )
    assert [r.status for r in results] == ["duplicate"] * 10 + ["created"] * 10
    (lookup,) = [q["sql"] for q in captured.captured_queries if "k(external_id)" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + lookup)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert any("Index Cond" in line and "external_id" in line for line in plan.splitlines()), plan
    assert "Join Filter" not in plan, plan


def _mixed_batch(person, prefix: str, size: int) -> list[dict]:
    """Good rows either side of a month's boundary (UTC, the partition bound on PostgreSQL), a bad row, an unknown
    person and the same external id twice, repeated to `size` rows."""
    rows = []
    for n in range(size):
        kind = n % 5
        started = "2026-02-28T23:59:59+00:00" if n % 2 else "2026-03-01T00:00:00+00:00"
        if kind == 0:
            rows.append(row(person, f"{prefix}-{n}", channel="fax"))  # rejected: unknown channel
        elif kind == 1:
            rows.append(row(person, f"{prefix}-{n}", person_id=2**40))  # rejected: unknown person
        elif kind == 2:
            rows.append(row(person, f"{prefix}-{n - 1}", started_at=started))  # the previous row's id again
        else:
            rows.append(row(person, f"{prefix}-{n}", started_at=started))
    return rows


def test_a_mixed_batch_across_a_month_boundary_then_its_replay(paris_person, django_assert_num_queries):
    actor = Actor.system()
    rows = _mixed_batch(paris_person, "m", 20)
    results = ingest_contacts(actor=actor, channel=Channel.BACKOFFICE, rows=rows, source="tel")
    statuses = [r.status for r in results]
    assert statuses == ["rejected", "rejected", "created", "created", "created"] * 4
    assert (
        results[0].errors == {"channel": results[0].errors["channel"]}
        and "fax" in results[0].errors["channel"]
    )
    assert results[1].errors == {"person_id": "unknown person"}
    # Row 2 repeats row 1's id, whose row was rejected (unknown person): it is the first valid one and counts.
    created = {r.external_id: r.contact_id for r in results if r.status == "created"}
    assert len(created) == 12
    stored = dict(Contact.objects.filter(source="tel").values_list("external_id", "pk"))
    assert stored == created
    months = {c.started_at.month for c in Contact.objects.filter(source="tel")}
    assert months == {2, 3}
    # Replayed: every row that was written is now a duplicate pointing at its contact; nothing more is written.
    again = ingest_contacts(actor=actor, channel=Channel.BACKOFFICE, rows=rows, source="tel")
    assert [r.status for r in again] == ["rejected", "rejected", "duplicate", "duplicate", "duplicate"] * 4
    assert {r.external_id: r.contact_id for r in again if r.status == "duplicate"} == created
    assert Contact.objects.filter(source="tel").count() == 12


def test_a_duplicate_within_a_batch_counts_once(paris_person):
    rows = [row(paris_person, 1), row(paris_person, 1, answered=False), row(paris_person, 2)]
    results = ingest_contacts(actor=Actor.system(), channel=Channel.BACKOFFICE, rows=rows, source="tel")
    assert [r.status for r in results] == ["created", "duplicate", "created"]
    assert Contact.objects.get(external_id="tel-1").answered is True


@pytest.mark.parametrize("size", [5, 200])
def test_the_queries_of_a_batch_do_not_grow_with_its_rows(paris_person, size, django_assert_num_queries):
    rows = _mixed_batch(paris_person, f"q{size}", size)
    # The retention's horizon (core.retention: the newest month that left), motives, persons by id, persons by
    # NIR, known external ids; then the write: its savepoint, the transaction id and the ids drawn (PostgreSQL,
    # then COPY, which the count does not see) or the insert then the ids read back (SQLite), and the savepoint's
    # release.
    with django_assert_num_queries(9):
        ingest_contacts(actor=Actor.system(), channel=Channel.BACKOFFICE, rows=rows, source="tel")
