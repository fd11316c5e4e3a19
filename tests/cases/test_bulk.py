"""The bulk helpers of the ingestion give the same rows as the plain ORM, on SQLite and PostgreSQL: look-ups by
many keys in one parameter (strings with quotes, backslashes, commas, braces), updates of many rows in one
statement, model instances built without Model.__init__."""

import datetime as dt

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniguichet.cases.models import Case, CaseEvent, RequestedDocument
from omniguichet.cases.services import _instance, ingest_case_events
from omniguichet.core.actors import Actor
from omniguichet.core.db import array_literal, update_rows, values_subquery
from tests.cases.conftest import event, opened

SYSTEM = Actor.system("test")
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(TEXT, max_size=8))
def test_a_one_parameter_lookup_yields_exactly_its_strings(db, values):
    sql, params = values_subquery(values, of="text").as_sql(None, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql}) AS v", params)
        assert sorted(row[0] for row in cursor.fetchall()) == sorted(values)


def test_array_literal():
    assert array_literal([1, 22]) == "{1,22}"
    assert array_literal(['a"b', "c\\d", ""]) == '{"a\\"b","c\\\\d",""}'


@pytest.mark.parametrize("event_id", ['q"uote', "back\\slash", "{brace},comma", "NULL", "é ü"])
def test_awkward_event_ids_are_found_again_on_replay(paris_person, event_id):
    rows = [opened("C-1", paris_person) | {"event_id": event_id}]
    assert [r.status for r in ingest_case_events(actor=SYSTEM, rows=rows, source="t").results] == ["applied"]
    assert [r.status for r in ingest_case_events(actor=SYSTEM, rows=rows, source="t").results] == [
        "duplicate"
    ]
    assert CaseEvent.objects.get().event_id == event_id


def test_update_rows_writes_every_field_of_every_row(paris_person):
    ingest_case_events(actor=SYSTEM, source="t", rows=[
        opened("C-1", paris_person), opened("C-2", paris_person),
        event("C-1", 2, "document_missing", {"document": "rib", "label": "RIB"}),
    ])  # fmt: skip
    first, second = Case.objects.order_by("reference")
    first.status, first.expected_decision_on, first.closed_at = "closed", dt.date(2026, 5, 4), None
    when = dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
    second.status, second.expected_decision_on, second.closed_at = "refused", None, when
    second.last_sequence = 7
    update_rows([first, second], ["status", "expected_decision_on", "closed_at", "last_sequence"])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.expected_decision_on, first.closed_at) == (
        "closed",
        dt.date(2026, 5, 4),
        None,
    )
    assert (second.status, second.expected_decision_on, second.closed_at) == ("refused", None, when)
    assert second.last_sequence == 7
    doc = RequestedDocument.objects.get()
    doc.label, doc.received_at = 'Relevé d\'identité "bancaire" \\ ok', when
    update_rows([doc], ["label", "received_at"])
    doc.refresh_from_db()
    assert (doc.label, doc.received_at) == ('Relevé d\'identité "bancaire" \\ ok', when)
    update_rows([], ["label"])  # nothing to do


def test_an_instance_built_without_init_behaves_like_one_from_the_orm(paris_person):
    ingest_case_events(actor=SYSTEM, rows=[opened("C-1", paris_person)], source="t")
    case = Case.objects.get()
    doc = _instance(RequestedDocument, case=case, code="rib")
    assert (doc.pk, doc.case_id, doc.code, doc.label, doc.received_at) == (None, case.pk, "rib", "", None)
    assert doc.case is case  # cached: no query
    doc.label, doc.requested_at = "RIB", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    doc.save()
    assert RequestedDocument.objects.get().label == "RIB"
    event_a, event_b = _instance(CaseEvent), _instance(CaseEvent)
    assert (
        event_a.payload == {} and event_a.payload is not event_b.payload
    )  # callable defaults called each time
