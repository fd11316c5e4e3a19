"""Template tags other apps' pages use to show appointments (the person's cases show the appointments about
them without one query per case)."""

from __future__ import annotations

from typing import Any

from django import template

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment

register = template.Library()


@register.simple_tag
def case_appointments(case_views: Any) -> dict[int, list[Appointment]]:
    """{case id: its appointments} for a list of cases (or of cases.services.CaseView): one query."""
    cases = [getattr(v, "case", v) for v in case_views or []]
    return services.appointments_by_case(c.pk for c in cases)


@register.simple_tag
def appointments_of(by_case: dict[int, list[Appointment]], case: Any) -> list[Appointment]:
    return by_case.get(getattr(case, "pk", 0), []) if by_case else []
