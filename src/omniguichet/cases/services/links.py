"""What other apps attach to a case and register at start-up: the appointments booked about a case (shown with
the person's cases), from the appointments app, which sits above cases."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

CaseAppointments = Callable[[Iterable[int]], dict[int, list[Any]]]
_appointment_providers: list[CaseAppointments] = []


def register_case_appointments(provider: CaseAppointments) -> None:
    """provider(case ids) -> {case id: [appointment, ...]} (each with pk, motive_id, motive.label, start, status)."""
    _appointment_providers[:] = [provider]


def case_appointments(case_ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for provider in _appointment_providers:
        found.update(provider(case_ids))
    return found
