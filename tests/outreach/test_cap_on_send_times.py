"""The SMS frequency cap holds on the times messages are really sent (the sink's clock), whatever moves them:
the quiet hours met at claim time, a retry's backoff, a stopped or late dispatcher, a merge into a digest.

The dispatcher runs on a simulated clock (django.utils.timezone.now is replaced), so the sink's send times are
the simulated times; the checks read the sink, like a person would count the SMS on their phone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from bench.sms_cap import cap_violations, read_sink
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from omniguichet.core.actors import Actor
from omniguichet.outreach import services as outreach
from omniguichet.outreach.models import MessageState, OutboundMessage
from omniguichet.referential.models import ContactPoint

PARIS = ZoneInfo("Europe/Paris")
SYSTEM = Actor.system("test")


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


class Clock:
    def __init__(self, monkeypatch, start: dt.datetime) -> None:
        self.at = start
        monkeypatch.setattr(timezone, "now", lambda: self.at)


class FlakySink(outreach.FileSink):
    """The SMS sink failing the calls whose number is in `failing` (a provider down for a while): every message
    of that batch is retried after its backoff."""

    calls = 0
    failing: frozenset[int] = frozenset()

    def send(self, messages):
        FlakySink.calls += 1
        if FlakySink.calls in FlakySink.failing:
            return {m.pk: outreach.SendOutcome(False, error="provider down") for m in messages}
        return super().send(messages)


@pytest.fixture
def flaky(monkeypatch):
    FlakySink.calls, FlakySink.failing = 0, frozenset()
    original = outreach.provider_for
    monkeypatch.setattr(
        outreach, "provider_for", lambda channel: FlakySink("sms") if channel == "sms" else original(channel)
    )
    return FlakySink


def make_persons(make_person, n: int) -> list:
    persons = []
    for i in range(n):
        person = make_person(family_name=f"Capé{i}", given_names="Jo")
        ContactPoint.objects.create(
            person=person,
            kind="mobile",
            value=f"+336123400{i:02d}",
            verified=True,
            verified_at=timezone.now(),
        )
        persons.append(person)
    return persons


def event(person, key: str) -> None:
    outreach.send_to_person(actor=SYSTEM, person=person, idempotency_key=key, subject=f"Dossier {key}",
                            body=f"Dossier {key}", channel_policy="sms")  # fmt: skip


def every_message_went_once_or_in_a_digest(sink_lines: list[dict]) -> None:
    keys = [line["key"] for line in sink_lines]
    assert len(keys) == len(set(keys)), "a message reached the sink twice"
    for message in OutboundMessage.objects.filter(channel="sms"):
        if message.state == MessageState.MERGED:
            assert message.merged_into.state in (MessageState.SENT, MessageState.DELIVERED)
            assert message.merged_into.idempotency_key in keys
        else:
            assert message.state in (MessageState.SENT, MessageState.DELIVERED), message
            assert message.idempotency_key in keys


def run_dispatcher(clock: Clock, at: dt.datetime) -> None:
    clock.at = at
    outreach.drain(limit=50)


def test_messages_due_just_before_the_quiet_hours_found_by_a_late_dispatcher(
    db, make_person, monkeypatch, _outbox
):
    """Every other evening, three events per person at 19:59:30 with the dispatcher busy until 20:00:30 (it
    meets the quiet hours: the SMS go at 08:00 the next day); on that next day, events at 10:00 and 15:00;
    otherwise the dispatcher runs every minute. Before the fix, the day's messages were placed under the cap
    after the evening ones' planned time (19:59:30), not their send time (08:00), and went the same day: 4 SMS
    in 24 hours."""
    clock = Clock(monkeypatch, paris(2026, 6, 1, 8, 0))
    persons = make_persons(make_person, 3)
    first = paris(2026, 6, 1).date()
    for d in range(8):
        date = first + dt.timedelta(days=d)
        events = [dt.time(19, 59, 30)] * 3 if d % 2 == 0 else [dt.time(10, 0), dt.time(15, 0)]
        busy = (dt.time(19, 59), dt.time(20, 0, 30)) if d % 2 == 0 else None
        tick = dt.datetime.combine(date, dt.time(0, 0, 45), tzinfo=PARIS)
        for n in range(24 * 60):
            at = tick + dt.timedelta(minutes=n)
            for i, when in enumerate(events):
                happened = dt.datetime.combine(date, when, tzinfo=PARIS)
                if at - dt.timedelta(minutes=1) < happened <= at:
                    clock.at = happened
                    for person in persons:
                        event(person, f"{person.pk}-{d}-{i}")
            if busy and busy[0] <= at.time() < busy[1]:
                continue
            if (at.hour >= 20 or at.hour < 8) and at.minute % 30:
                continue  # at night, a run every half hour is enough (nothing may go)
            run_dispatcher(clock, at)
    for _tick in range(10 * 24 * 6):  # then every ten minutes until everything went
        if not OutboundMessage.objects.filter(state="queued").exists():
            break
        run_dispatcher(clock, clock.at + dt.timedelta(minutes=10))
    lines = read_sink(_outbox / "sms.jsonl")
    assert cap_violations(lines, cap=3) == []
    assert {line["person_id"] for line in lines} == {p.pk for p in persons}
    every_message_went_once_or_in_a_digest(lines)
    assert not OutboundMessage.objects.filter(state="queued").exists()


# A week containing the change to winter time (25 October 2026, 03:00 -> 02:00), events at any time of day.
WEEK_START = paris(2026, 10, 21, 0, 0)
minutes_in_week = st.integers(min_value=0, max_value=7 * 24 * 60 - 1)


@pytest.mark.parametrize("cap", [1, 3, 5])
def test_the_cap_holds_on_send_times_for_random_events_pauses_and_retries(
    db, make_person, monkeypatch, settings, tmp_path, flaky, cap
):
    settings.OUTREACH_SMS_DAILY_CAP = cap
    settings.OUTREACH_RETRY_BASE_SECONDS = 600
    settings.OUTREACH_MAX_ATTEMPTS = 30
    clock = Clock(monkeypatch, WEEK_START)
    persons = make_persons(make_person, 2)
    example = iter(range(10_000))

    @settings_for_hypothesis
    @given(
        events=st.lists(st.tuples(st.integers(0, 1), minutes_in_week, st.integers(0, 59)), max_size=25),
        pauses=st.lists(st.integers(min_value=1, max_value=14 * 60), min_size=1, max_size=40),
        failing=st.frozensets(st.integers(min_value=1, max_value=60), max_size=8),
    )
    def simulate(events, pauses, failing):
        n = next(example)
        outbox = tmp_path / f"outbox-{n}"
        settings.OUTREACH_OUTBOX_DIR = outbox
        flaky.calls, flaky.failing = 0, failing
        with transaction.atomic():
            timeline = sorted(
                (WEEK_START + dt.timedelta(minutes=minute, seconds=second), who)
                for who, minute, second in events
            )
            # The dispatcher wakes up after each pause (in minutes; a long one is a stopped worker), and after
            # the week every ten minutes until nothing is queued.
            runs, at = [], WEEK_START
            for pause in pauses:
                at += dt.timedelta(minutes=pause)
                runs.append(at)
            for i, (when, who) in enumerate(timeline):
                while runs and runs[0] <= when:
                    run_dispatcher(clock, runs.pop(0))
                clock.at = when
                event(persons[who], f"{n}-{i}")
            for run in runs:
                run_dispatcher(clock, run)
            at = max([clock.at, *(when for when, _who in timeline)])
            for _tick in range(40 * 24 * 6):
                if not OutboundMessage.objects.filter(state="queued").exists():
                    break
                at += dt.timedelta(minutes=10)
                run_dispatcher(clock, at)
            lines = read_sink(outbox / "sms.jsonl")
            assert cap_violations(lines, cap=cap) == []
            every_message_went_once_or_in_a_digest(lines)
            assert not OutboundMessage.objects.filter(state="queued").exists()
            transaction.set_rollback(True)

    simulate()


settings_for_hypothesis = hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
