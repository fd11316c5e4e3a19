"""Parallel bookings of one slot: exactly one wins, whatever the database (run on PostgreSQL in CI)."""

import itertools
import threading

import pytest
from django.db import connection, connections

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment, Status
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict
from tests.appointments.conftest import at, make_site, next_workday

THREADS = 6


def _race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait()
            call()
            result = "booked"
        except Conflict:
            result = "conflict"
        except Exception as exc:
            result = f"error {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_parallel_bookings_never_double_book(caisse_paris, agent_paris, make_person):
    if connection.vendor != "postgresql":
        # SQLite's in-memory test database locks whole tables between connections; SQLite serialises writers
        # anyway (IMMEDIATE transactions). The race that matters is PostgreSQL's.
        pytest.skip("needs PostgreSQL (run under pg_virtualenv)")
    site = make_site(caisse_paris, [agent_paris])  # one agent: one appointment per slot
    agent = Actor.agent(agent_paris)
    persons = [make_person() for _ in range(THREADS)]
    day = next_workday()
    # Same start for everyone, then overlapping starts of different lengths (30 min at 10:00, 15 min at 10:15).
    same = [
        lambda p=p: services.book(
            actor=agent,
            channel=Channel.PHONE,
            person_id=p.pk,
            site_id=site.pk,
            motive="ij_dossier",
            start=at(day, 9, 0),
        )
        for p in persons
    ]
    outcomes = _race(same)
    assert sorted(outcomes) == ["booked"] + ["conflict"] * (THREADS - 1), outcomes
    overlapping = [
        lambda p=p, i=i: services.book(
            actor=agent,
            channel=Channel.PHONE,
            person_id=p.pk,
            site_id=site.pk,
            motive="ij_dossier" if i % 2 else "carte_vitale",
            start=at(day, 10, 0) if i % 2 else at(day, 10, 15),
        )
        for i, p in enumerate(persons)
    ]
    outcomes = _race(overlapping)
    assert outcomes.count("booked") in (1, 2) and all(o in ("booked", "conflict") for o in outcomes), outcomes
    live = list(Appointment.objects.filter(agent=agent_paris, status=Status.BOOKED).order_by("start"))
    for a, b in itertools.pairwise(live):
        assert a.end <= b.start, "overlapping appointments for one agent"
