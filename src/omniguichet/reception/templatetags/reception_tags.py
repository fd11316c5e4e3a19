"""Template tags for other apps' pages: the customer record shows the visit the agent is serving, to close it
there (one query)."""

from __future__ import annotations

from typing import Any

from django import template

from omniguichet.core.actors import staff_actor
from omniguichet.core.errors import Forbidden
from omniguichet.reception import services
from omniguichet.reception.forms import CloseVisitForm
from omniguichet.reception.models import Ticket

register = template.Library()


@register.simple_tag(takes_context=True)
def visit_in_progress(context: dict[str, Any], person: Any) -> Ticket | None:
    """The ticket of this person the logged-in agent has called and not closed yet, or None."""
    request = context.get("request")
    if request is None or person is None:
        return None
    try:
        actor = staff_actor(request.user)
    except Forbidden:
        return None
    return services.visit_in_progress(actor=actor, person_id=person.pk)


@register.simple_tag
def close_visit_form(visit: Ticket, motives: list) -> CloseVisitForm:
    """The form closing the visit from the record (its ids prefixed "visit-": the record has other forms)."""
    return CloseVisitForm(
        auto_id="visit-%s", motives=motives, identify=False, initial={"motive": visit.motive_id}
    )
