"""The back-office simulator: realistic case event streams for the seeded population (sick pay with a payment every
14 days, reimbursements, Vitale and European card orders, Complémentaire santé solidaire), sent through the same
ingestion service as the API. Deterministic: the same seed gives the same events (and replaying them changes
nothing). A small share of events is sent one batch late, so that the held-until-the-gap-fills path runs too."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from omniguichet.cases.services import MAX_BATCH, ingest_case_events
from omniguichet.core.actors import Actor
from omniguichet.core.errors import InvalidInput
from omniguichet.referential.models import Person

PREFIX = {
    "sick_pay": "IJ",
    "reimbursement": "RB",
    "vitale_card": "VIT",
    "european_card": "CEAM",
    "css": "CSS",
}
# Share of new cases by type (reimbursements dominate, then sick pay).
MIX = [
    ("reimbursement", 0.45),
    ("sick_pay", 0.25),
    ("vitale_card", 0.1),
    ("european_card", 0.1),
    ("css", 0.1),
]
LATE_SHARE = 0.005


@dataclass
class SimulationReport:
    events: int = 0
    applied: int = 0
    held: int = 0
    duplicates: int = 0
    rejected: int = 0
    released: int = 0
    cases: int = 0
    seconds: float = 0.0


def _script(case_type: str, rng: random.Random) -> list[tuple[float, str, dict[str, Any]]]:
    """(days after the opening, event type, payload) of one case's life."""
    steps: list[tuple[float, str, dict[str, Any]]] = []
    if case_type == "sick_pay":
        day = 0.0
        if rng.random() < 0.3:
            steps.append(
                (
                    1,
                    "document_missing",
                    {"document": "attestation-salaire", "label": "l'attestation de salaire"},
                )
            )
            if rng.random() < 0.85:
                steps.append(
                    (
                        rng.uniform(2, 9),
                        "document_received",
                        {"document": "attestation-salaire", "channel": rng.choice(["web", "letter"])},
                    )
                )
                day = 10
        steps.append((day + rng.uniform(2, 5), "decision", {"outcome": "accepted"}))
        first = day + 14
        for n in range(rng.randint(1, 6)):
            amount = f"{rng.randint(150, 1400)}.{rng.randint(0, 99):02d}"
            steps.append((first + 14 * n, "payment", {"amount": amount}))
        steps.append((first + 14 * n + 1, "closed", {}))
    elif case_type == "reimbursement":
        steps.append(
            (rng.uniform(2, 7), "payment", {"amount": f"{rng.randint(7, 250)}.{rng.randint(0, 99):02d}"})
        )
        steps.append((rng.uniform(8, 9), "closed", {}))
    elif case_type in ("vitale_card", "european_card"):
        day = 0.0
        if case_type == "vitale_card" and rng.random() < 0.4:
            steps.append((1, "document_missing", {"document": "photo", "label": "une photo d'identité"}))
            steps.append((rng.uniform(2, 6), "document_received", {"document": "photo", "channel": "web"}))
            day = 6
        steps.append((day + 1, "decision", {"outcome": "accepted"}))
        steps.append((day + rng.uniform(3, 10), "card_shipped", {"card": case_type}))
        steps.append((day + 12, "closed", {}))
    else:  # css
        steps.append(
            (1, "document_missing", {"document": "avis-imposition", "label": "votre avis d'imposition"})
        )
        if rng.random() < 0.8:
            steps.append(
                (rng.uniform(3, 12), "document_received", {"document": "avis-imposition", "channel": "web"})
            )
            outcome = "accepted" if rng.random() < 0.7 else "refused"
            steps.append((rng.uniform(20, 40), "decision", {"outcome": outcome}))
            steps.append((45, "closed", {}))
    return steps


def generate_events(
    *,
    count: int,
    person_ids: list[int],
    seed: int = 7,
    now: dt.datetime | None = None,
    within_days: int = 120,
) -> Iterator[dict[str, Any]]:
    """About `count` events (whole cases) for these persons, oldest first; future events are not emitted."""
    rng = random.Random(seed)
    now = now or timezone.now()
    events: list[tuple[dt.datetime, dict[str, Any]]] = []
    types, weights = zip(*MIX, strict=True)
    n = 0
    while len(events) < count:
        n += 1
        case_type = rng.choices(types, weights)[0]
        reference = f"{PREFIX[case_type]}-{seed}-{n:08d}"
        opened_at = now - dt.timedelta(days=rng.uniform(0, within_days))
        opened_payload: dict[str, Any] = {"person_id": rng.choice(person_ids), "case_type": case_type}
        if case_type in ("vitale_card", "european_card", "css"):
            opened_payload["channel"] = rng.choice(["web", "web", "app", "reception"])
        opened_payload["expected_decision_on"] = (opened_at + dt.timedelta(days=30)).date().isoformat()
        steps = [(0.0, "opened", opened_payload), *_script(case_type, rng)]
        for sequence, (days, event_type, payload) in enumerate(steps, start=1):
            at = opened_at + dt.timedelta(days=days)
            if at > now:
                break
            events.append((at, {
                "event_id": f"sim-{seed}-{n}-{sequence}", "case_reference": reference, "sequence": sequence,
                "type": event_type, "occurred_at": at.isoformat(timespec="seconds"), "payload": payload,
            }))  # fmt: skip
    events.sort(key=lambda e: e[0])
    for _at, event in events[:count]:
        yield event


def batches(events: Iterator[dict[str, Any]], size: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of events, a few of each sent with the next batch (out of order across batches)."""
    rng = random.Random(seed + 1)
    late: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for event in events:
        if event["sequence"] > 1 and rng.random() < LATE_SHARE:
            late.append(event)
            continue
        batch.append(event)
        if len(batch) >= size - len(late):
            yield batch
            batch, late = late, []
    batch.extend(late)
    if batch:
        yield batch


def simulate_backoffice(
    *, events: int, seed: int = 7, batch: int = MAX_BATCH, within_days: int = 120,
    progress: Callable[[int], None] | None = None,
) -> SimulationReport:  # fmt: skip
    """Play `events` case events for the persons in the database, through the ingestion service."""
    import time

    if events < 1:
        raise InvalidInput.from_fields({"events": "must be at least 1"})
    if not 1 <= batch <= MAX_BATCH:
        raise InvalidInput.from_fields({"batch": f"must be between 1 and {MAX_BATCH}"})
    person_ids = list(Person.objects.filter(parent__isnull=True).order_by("pk").values_list("pk", flat=True))
    if not person_ids:
        raise InvalidInput.from_fields({"persons": "seed a population first (omniguichet seed --persons N)"})
    report = SimulationReport()
    actor = Actor.system("backoffice-simulator")
    started = time.perf_counter()
    stream = generate_events(count=events, person_ids=person_ids, seed=seed, within_days=within_days)
    for rows in batches(stream, batch, seed):
        result = ingest_case_events(actor=actor, rows=rows, source="simulator")
        report.events += len(rows)
        report.applied += result.count("applied")
        report.held += result.count("held")
        report.duplicates += result.count("duplicate")
        report.rejected += result.count("rejected")
        report.released += result.released
        report.cases += sum(1 for r in rows if r["type"] == "opened")
        if progress:
            progress(len(rows))
    report.seconds = time.perf_counter() - started
    return report
