"""The SMS frequency cap on real send times (issue 15): a simulation of back-office days whose messages become due
just before the quiet hours, with a dispatcher that is late, stopped for hours now and then, and a provider that
fails some batches (retries with backoff). The sink's send times are counted per person: SMS in the quiet hours,
the most SMS in any 24 hours and in one Paris calendar day, against the cap.

    python -m bench.sms_cap                               # SQLite, 300 persons, 25 days
    python -m bench.sms_cap --persons 1000 --days 25      # the size of bench/RESULTS.md
    DATABASE_URL=postgres://... python -m bench.sms_cap   # PostgreSQL: a fresh database in that cluster

The checker (`cap_violations`, `figures`) is also what the tests assert with (tests/outreach/test_cap_on_send_times.py).
It imports nothing of Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
DAY = dt.timedelta(hours=24)


def read_sink(path: Path) -> list[dict]:
    """The lines of a JSON-lines sink (empty when nothing was sent)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _send_times(lines: list[dict]) -> dict[int, list[dt.datetime]]:
    times: dict[int, list[dt.datetime]] = defaultdict(list)
    for line in lines:
        times[line["person_id"]].append(dt.datetime.fromisoformat(line["at"]))
    for values in times.values():
        values.sort()
    return times


def _max_in_24_hours(times: list[dt.datetime]) -> int:
    """The most send times in any window of 24 hours (t - 24 h, t] (times sorted)."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - DAY:
            start += 1
        best = max(best, end - start + 1)
    return best


def _max_in_a_day(times: list[dt.datetime]) -> int:
    return max(Counter(t.astimezone(PARIS).date() for t in times).values(), default=0)


def cap_violations(lines: list[dict], *, cap: int, quiet_from: int = 20, quiet_until: int = 8) -> list[str]:
    """What breaks the documented rule in these sink lines, per person: an SMS in the quiet hours (Paris time),
    more than `cap` in any 24 hours, more than `cap` in one Paris calendar day. Empty when the rule holds."""
    problems = []
    for person, times in sorted(_send_times(lines).items()):
        for at in times:
            if not quiet_until <= at.astimezone(PARIS).hour < quiet_from:
                problems.append(
                    f"person {person}: SMS at {at.astimezone(PARIS):%Y-%m-%d %H:%M:%S %Z} (quiet hours)"
                )
        if (most := _max_in_24_hours(times)) > cap:
            problems.append(f"person {person}: {most} SMS in 24 hours (cap {cap})")
        if (most := _max_in_a_day(times)) > cap:
            problems.append(f"person {person}: {most} SMS in one Paris day (cap {cap})")
    return problems


def figures(lines: list[dict]) -> dict[str, int]:
    times = _send_times(lines)
    return {
        "persons": len(times),
        "sms": len(lines),
        "max_24h": max((_max_in_24_hours(t) for t in times.values()), default=0),
        "max_paris_day": max((_max_in_a_day(t) for t in times.values()), default=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--days", type=int, default=25)
    parser.add_argument("--cap", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    from bench.crm import _database_url
    from bench.seed import _setup

    var_dir = tempfile.mkdtemp(prefix="bench-sms-cap-")
    outbox = Path(var_dir) / "outbox"
    os.environ["OUTREACH_OUTBOX_DIR"] = str(outbox)
    os.environ["OUTREACH_SMS_DAILY_CAP"] = str(args.cap)
    _setup(_database_url(os.environ.get("DATABASE_URL"), var_dir, name="sms_cap"), var_dir)

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from rich.progress import track

    from omniguichet.core.actors import Actor
    from omniguichet.outreach import services as outreach
    from omniguichet.outreach.models import OutboundMessage
    from omniguichet.referential.models import Caisse, ContactPoint, Person

    settings.OUTREACH_SMS_DAILY_CAP = args.cap
    settings.OUTREACH_RETRY_BASE_SECONDS = 300
    settings.OUTREACH_MAX_ATTEMPTS = 50
    rng = random.Random(args.seed)
    clock = {"at": dt.datetime(2026, 10, 12, 0, 0, tzinfo=PARIS)}  # 25 days across the change to winter time
    timezone.now = lambda: clock["at"]  # the simulated clock: ledger, dispatcher and sink all read it

    failures = {"calls": 0}
    original_provider = outreach.provider_for

    class FlakySink(outreach.FileSink):
        def send(self, messages):  # one batch in 20 fails: its messages are retried after their backoff
            failures["calls"] += 1
            if rng.random() < 0.05:
                return {m.pk: outreach.SendOutcome(False, error="provider down") for m in messages}
            return super().send(messages)

    outreach.provider_for = lambda c: FlakySink("sms") if c == "sms" else original_provider(c)  # type: ignore[assignment]

    caisse = Caisse.objects.get_or_create(code="751", defaults={"name": "CPAM de Paris"})[0]
    persons = [
        Person(nir=f"1{i:014d}"[:15], given_names="Jo", family_name=f"Sim{i}", birth_date=dt.date(1980, 1, 1),
               sex="M", birth_place="75056", caisse=caisse)
        for i in range(args.persons)
    ]  # fmt: skip
    Person.objects.bulk_create(persons)
    persons = list(Person.objects.order_by("pk"))
    ContactPoint.objects.bulk_create(
        ContactPoint(
            person=p, kind="mobile", value=f"+3361{p.pk:07d}", verified=True, verified_at=clock["at"]
        )
        for p in persons
    )
    system = Actor.system("bench")
    start = clock["at"]
    # Back-office events: most persons get 0-2 a day; some days, a batch of 2-6 lands between 19:55 and 20:00.
    events: list[tuple[dt.datetime, int]] = []
    for day in range(args.days):
        date = (start + dt.timedelta(days=day)).date()
        for person in persons:
            for _n in range(rng.choice([0, 0, 1, 1, 2])):
                events.append((dt.datetime.combine(date, dt.time(rng.randrange(7, 22), rng.randrange(60)),
                                                   tzinfo=PARIS), person.pk))  # fmt: skip
            if rng.random() < 0.25:
                at = dt.datetime.combine(date, dt.time(19, 55), tzinfo=PARIS)
                for _n in range(rng.randrange(2, 7)):
                    events.append((at + dt.timedelta(seconds=rng.randrange(300)), person.pk))
    events.sort()
    by_pk = {p.pk: p for p in persons}
    # The dispatcher: every 5 minutes, late by up to a minute, stopped for 1 to 3 hours on a day in four.
    runs, at = [], start
    end = start + dt.timedelta(days=args.days)
    while at < end + dt.timedelta(days=10):
        at += dt.timedelta(minutes=5, seconds=rng.randrange(60))
        if rng.random() < 0.25 / 288:
            at += dt.timedelta(hours=rng.uniform(1, 3))
        runs.append(at)
    print(f"database: {connection.vendor} · {platform.node()} · {os.cpu_count()} cores")
    started = time.perf_counter()
    i = 0
    for run in track(runs, description=f"{args.days} days, {args.persons} persons, {len(events)} events"):
        while i < len(events) and events[i][0] <= run:
            clock["at"], pk = events[i]
            text = f"Votre dossier {i}"
            outreach.send_to_person(actor=system, person=by_pk[pk], idempotency_key=f"ev-{i}", subject=text,
                                    body=text, channel_policy="sms")  # fmt: skip
            i += 1
        clock["at"] = run
        outreach.drain(limit=500)
    seconds = time.perf_counter() - started
    lines = read_sink(outbox / "sms.jsonl")
    found = figures(lines)
    problems = cap_violations(lines, cap=args.cap)
    queued = OutboundMessage.objects.filter(state="queued").count()
    merged = OutboundMessage.objects.filter(state="merged").count()
    digests = OutboundMessage.objects.filter(rule="digest").count()
    print(
        f"persons {found['persons']} · simulated days {args.days} · events {len(events)} · SMS sent {found['sms']}"
        f" ({digests} digests holding {merged} messages) · still queued {queued}"
    )
    print(
        f"cap {args.cap}: most SMS in any 24 hours {found['max_24h']} · in one Paris day {found['max_paris_day']}"
        f" · violations {len(problems)} · {seconds:.0f} s"
    )
    for problem in problems[:10]:
        print("  ", problem)


if __name__ == "__main__":
    main()
