import datetime as dt
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from omniguichet.cases.models import Case, CaseEvent
from omniguichet.demo.backoffice import batches, generate_events
from omniguichet.demo.services import seed_population


def test_generated_streams_are_realistic():
    now = timezone.now()
    events = list(generate_events(count=3000, person_ids=[1, 2, 3], seed=5, now=now))
    assert len(events) == 3000
    assert all(dt.datetime.fromisoformat(e["occurred_at"]) <= now for e in events)
    payments: dict[str, list[dt.datetime]] = {}
    for e in events:
        if e["type"] == "payment" and e["case_reference"].startswith("IJ-"):
            payments.setdefault(e["case_reference"], []).append(dt.datetime.fromisoformat(e["occurred_at"]))
    gaps = {
        round((b - a).total_seconds() / 86400)
        for times in payments.values()
        for a, b in itertools.pairwise(times)
    }
    assert gaps == {14}  # sick pay: a payment every 14 days
    assert {e["type"] for e in events} >= {
        "opened",
        "document_missing",
        "payment",
        "card_shipped",
        "decision",
    }
    # A few events are sent one batch late (out of order across batches), none is lost.
    sent = [e for batch in batches(iter(events), 500, seed=5) for e in batch]
    assert sorted(e["event_id"] for e in sent) == sorted(e["event_id"] for e in events)
    assert [e["event_id"] for e in sent] != [e["event_id"] for e in events]


@pytest.mark.django_db
def test_simulate_backoffice_command(capsys):
    with pytest.raises(CommandError):
        call_command("simulate-backoffice", "--events", "10", "--no-progress")  # no population yet
    seed_population(persons=60, seed=3)
    call_command("simulate-backoffice", "--events", "400", "--batch", "150", "--no-progress")
    out = capsys.readouterr().out
    assert "400 events" in out and "0 rejected" in out
    assert Case.objects.exists() and CaseEvent.objects.filter(state="held").count() == 0
    cases, events = Case.objects.count(), CaseEvent.objects.count()
    call_command("simulate-backoffice", "--events", "400", "--batch", "150", "--no-progress")
    assert "400 duplicates" in capsys.readouterr().out
    assert (Case.objects.count(), CaseEvent.objects.count()) == (cases, events)
