import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniguichet.cases.models import Case, CaseEvent, CaseStatus, RequestedDocument
from omniguichet.cases.services import ingest_case_events, my_cases
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.crm.models import Contact
from tests.cases.conftest import event, opened

SYSTEM = Actor.system("backoffice")


def ingest(rows, actor=SYSTEM):
    return ingest_case_events(actor=actor, rows=rows, source="test")


def test_a_case_moves_through_its_events(paris_person):
    report = ingest([
        opened("IJ-1", paris_person, expected_decision_on="2026-12-01"),
        event("IJ-1", 2, "document_missing", {"document": "arret-travail", "label": "Avis d'arrêt de travail"}),
    ])  # fmt: skip
    assert [r.status for r in report.results] == ["applied", "applied"]
    case = Case.objects.get(reference="IJ-1")
    assert case.status == CaseStatus.WAITING_DOCUMENTS
    assert case.person == paris_person and case.caisse_id == "751"
    assert case.expected_decision_on == dt.date(2026, 12, 1)
    assert RequestedDocument.objects.get(case=case).received_at is None
    ingest([
        event("IJ-1", 3, "document_received", {"document": "arret-travail"}),
        event("IJ-1", 4, "decision", {"outcome": "accepted"}),
        event("IJ-1", 5, "payment", {"amount": "412.30", "paid_on": "2026-11-20"}),
    ])  # fmt: skip
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED and case.last_sequence == 5
    assert RequestedDocument.objects.get(case=case).received_at is not None
    ingest([event("IJ-1", 6, "closed")])
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.closed_at is not None


def test_out_of_order_events_are_held_until_the_gap_fills(paris_person):
    ingest([opened("IJ-2", paris_person)])
    later = ingest([
        event("IJ-2", 4, "decision", {"outcome": "refused"}),
        event("IJ-2", 3, "document_received", {"document": "rib"}),
    ])  # fmt: skip
    assert [r.status for r in later.results] == ["held", "held"]
    assert "event 2" in later.results[0].message
    case = Case.objects.get(reference="IJ-2")
    assert case.last_sequence == 1 and case.status == CaseStatus.OPEN
    gap = ingest([event("IJ-2", 2, "document_missing", {"document": "rib", "label": "RIB"})])
    assert gap.results[0].status == "applied"
    assert gap.released == 2
    case.refresh_from_db()
    # Applied in sequence order: missing (waiting), received (in progress), then the refusal.
    assert case.last_sequence == 4 and case.status == CaseStatus.REFUSED
    assert not CaseEvent.objects.filter(case=case, state="held").exists()


def test_out_of_order_within_one_batch(paris_person):
    report = ingest([
        event("IJ-3", 3, "closed"),
        event("IJ-3", 2, "payment", {"amount": 10}),
        opened("IJ-3", paris_person),
    ])  # fmt: skip
    assert [r.status for r in report.results] == ["applied", "applied", "applied"]
    assert Case.objects.get(reference="IJ-3").status == CaseStatus.CLOSED


def test_replaying_a_batch_changes_nothing(paris_person):
    rows = [opened("IJ-4", paris_person), event("IJ-4", 2, "payment", {"amount": 12.5}),
            event("IJ-4", 4, "closed")]  # fmt: skip
    first = ingest(rows)
    assert [r.status for r in first.results] == ["applied", "applied", "held"]
    counts = (Case.objects.count(), CaseEvent.objects.count(), Contact.objects.count())
    again = ingest(rows)
    assert [r.status for r in again.results] == ["duplicate"] * 3
    assert (Case.objects.count(), CaseEvent.objects.count(), Contact.objects.count()) == counts


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"type": "explosion"}, "type"),
        ({"sequence": 0}, "sequence"),
        ({"sequence": "2"}, "sequence"),
        ({"occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T10:00:00+01:00"}, "occurred_at"),
        ({"case_reference": "bad ref with spaces"}, "case_reference"),
        ({"payload": {"amount": "-3"}}, "payload.amount"),
        ({"payload": {"amount": "1.234"}}, "payload.amount"),
        ({"payload": {"amount": 5, "colour": "red"}}, "payload"),
        ({"payload": "nope"}, "payload"),
        ({"event_id": ""}, "event_id"),
        ({"surprise": 1}, "row"),
    ],
)
def test_bad_rows_are_rejected_with_their_field(paris_person, row, field):
    ingest([opened("IJ-5", paris_person)])
    base = event("IJ-5", 2, "payment", {"amount": 5})
    base.update(row)
    report = ingest([base])
    assert report.results[0].status == "rejected"
    assert field in report.results[0].errors
    assert CaseEvent.objects.count() == 1


def test_semantic_rejections(paris_person, make_person):
    ingest([opened("IJ-6", paris_person), event("IJ-6", 2, "payment", {"amount": 5})])
    report = ingest([
        event("NOPE-1", 2, "payment", {"amount": 5}),
        opened("IJ-6", paris_person),
        event("IJ-6", 2, "closed"),
        event("IJ-7", 1, "opened", {"person_id": 999999999, "case_type": "css"}),
        event("IJ-8", 1, "opened", {"person_id": paris_person.pk, "case_type": "nonsense"}),
        event("IJ-6", 1, "payment", {"amount": 5}),
    ])  # fmt: skip
    errors = [r.errors for r in report.results]
    assert all(r.status == "rejected" for r in report.results)
    assert "unknown case" in errors[0]["case_reference"]
    assert "already opened" in errors[1]["case_reference"]
    assert "already applied" in errors[2]["sequence"]
    assert errors[3]["payload.person_id"] == "unknown person"
    assert "payload.case_type" in errors[4]
    assert "sequence" in errors[5]


def test_an_agent_only_touches_cases_of_their_caisse(paris_person, ain_person, backoffice_paris, agent_paris):
    actor = Actor.agent(backoffice_paris)
    report = ingest([opened("IJ-9", paris_person), opened("IJ-10", ain_person)], actor=actor)
    assert [r.status for r in report.results] == ["applied", "rejected"]
    assert report.results[1].errors == {"payload.person_id": "unknown person"}
    ingest([opened("AIN-1", ain_person)])
    other = ingest([event("AIN-1", 2, "payment", {"amount": 3})], actor=actor)
    assert "unknown case" in other.results[0].errors["case_reference"]
    with pytest.raises(Forbidden):
        ingest([], actor=Actor.agent(agent_paris))  # a reception agent sends no case events


def test_at_most_ten_thousand_events():
    with pytest.raises(InvalidInput):
        ingest([{}] * 10_001)


def test_person_events_with_a_channel_are_contacts(paris_person):
    ingest([
        opened("CSS-1", paris_person, case_type="css", channel="reception"),
        event("CSS-1", 2, "document_missing", {"document": "avis-imposition", "label": "Avis d'imposition"}),
        event("CSS-1", 3, "document_received", {"document": "avis-imposition", "channel": "web"}),
    ])  # fmt: skip
    contacts = Contact.objects.filter(person=paris_person, subject_kind="case").order_by("started_at")
    assert [(c.channel, c.motive_id, c.direction) for c in contacts] == [
        ("reception", "css", "inbound"),
        ("web", "css", "inbound"),
    ]
    assert contacts[0].subject_ref == str(Case.objects.get(reference="CSS-1").pk)


def test_ingestion_query_count_does_not_grow_with_the_batch(paris_person, make_person):
    persons = [make_person() for _ in range(3)]

    def batch(prefix, n):
        rows = []
        for i in range(n):
            person = persons[i % 3]
            rows += [
                opened(f"{prefix}-{i}", person),
                event(f"{prefix}-{i}", 2, "payment", {"amount": 10 + i}),
            ]
        return rows

    ingest(batch("W", 1))  # warm: the caisse names are cached for a minute
    with CaptureQueriesContext(connection) as small:
        ingest(batch("S", 2))
    with CaptureQueriesContext(connection) as large:
        ingest(batch("L", 40))
    assert len(large) == len(small)


def test_my_cases_in_plain_words(paris_person):
    ingest([
        opened("IJ-20", paris_person),
        event("IJ-20", 2, "payment", {"amount": "1234.5", "paid_on": "2026-03-03"}),
        event("IJ-20", 3, "document_missing", {"document": "rib", "label": "RIB", "due_on": "2026-04-01"}),
    ])  # fmt: skip
    views = my_cases(actor=Actor(kind=ActorKind.INSURED, person_id=paris_person.pk))
    assert len(views) == 1
    texts = [e.text for e in views[0].timeline]
    assert texts[0] == "Your request was registered."
    assert texts[1] == "We paid you 1\u00a0234,50\u00a0€ on 3 mars 2026."
    assert "Please send it before 1 avril 2026." in texts[2]
    assert [d.code for d in views[0].awaited_documents] == ["rib"]
    with pytest.raises(Forbidden):
        my_cases(actor=SYSTEM)


def test_event_rows_accept_ndjson():
    from omniguichet.cases.services import parse_event_rows

    body = "\n".join(json.dumps({"n": i}) for i in range(3)).encode()
    assert parse_event_rows(body, "application/x-ndjson") == [{"n": 0}, {"n": 1}, {"n": 2}]
    with pytest.raises(InvalidInput):
        parse_event_rows(b'{"a": 1}', "application/json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    row=st.fixed_dictionaries(
        {},
        optional={
            "event_id": json_values, "case_reference": json_values, "sequence": json_values,
            "type": st.sampled_from(["opened", "payment", "document_missing", "decision", "closed"]) | json_values,
            "occurred_at": json_values, "payload": json_values,
        },
    )
)  # fmt: skip
def test_any_json_row_is_parsed_or_rejected_with_reasons(row):
    from omniguichet.cases.services import ParsedEvent, _parse_row

    result = _parse_row(0, row, timezone.now())
    if not isinstance(result, ParsedEvent):
        assert result.status == "rejected" and result.errors


def test_my_cases_takes_four_queries(paris_person, django_assert_num_queries):
    rows = []
    for n in range(4):
        rows += [
            opened(f"Q-{n}", paris_person),
            event(f"Q-{n}", 2, "document_missing", {"document": "rib", "label": "RIB"}),
        ]
    ingest(rows)
    with django_assert_num_queries(4):  # cases, events, awaited documents, the platform's events
        views = my_cases(actor=Actor(kind=ActorKind.INSURED, person_id=paris_person.pk))
    assert len(views) == 4 and all(len(v.timeline) == 2 and v.awaited_documents for v in views)
