"""The screen-pop: the record of the caller the agent has just answered, opened once by the agent's console."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, scope_to_caisse
from omniguichet.referential.models import Person
from omniguichet.telephony.models import Call, CallDirection
from omniguichet.telephony.services.common import SCREEN_POP_WINDOW


@dataclass
class ScreenPop:
    call_id: str
    person_id: int | None  # None: the caller is not identified (or not visible to this agent)
    motive: str
    masked_number: str


def mask_number(number: str) -> str:
    """A caller's number as written nationally, its last two digits hidden: "06 12 34 56 ••"."""
    if not number:
        return _("withheld number")
    import phonenumbers

    try:
        shown = phonenumbers.format_number(
            phonenumbers.parse(number, "FR"), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        shown = number
    return shown[:-2] + "••" if len(shown) > 2 else "••"


def next_screen_pop(*, actor: Actor) -> ScreenPop | None:
    """The call this agent has just answered, once: its record to open (the person when identified and visible to
    the agent), or what the agent may see of an unknown caller. None when there is nothing new."""
    if actor.kind != ActorKind.AGENT or actor.user is None:
        return None
    since = timezone.now() - SCREEN_POP_WINDOW
    call = (
        Call.objects.filter(
            agent=actor.user, popped_at__isnull=True, answered_at__gte=since, direction=CallDirection.INBOUND
        )
        .order_by("-answered_at")
        .only("pk", "call_id", "person_id", "motive_id", "from_number")
        .first()
    )
    if call is None:
        return None
    # Once: a second poll (or a second tab) racing for the same call gets nothing.
    if not Call.objects.filter(pk=call.pk, popped_at__isnull=True).update(popped_at=timezone.now()):
        return None
    person_id = call.person_id
    if person_id is not None and not scope_to_caisse(Person.objects.filter(pk=person_id), actor).exists():
        person_id = None  # another caisse's person is reported like an unknown caller
    return ScreenPop(call.call_id, person_id, call.motive_id, mask_number(call.from_number))


def agents_with_pending_pop(*, agent_ids: Iterable[int]) -> set[int]:
    """Of these agents, those who have answered a call whose record their console has not opened yet: one query
    for every agent listening on a push process (the screen-pop index, one probe per agent)."""
    ids = list(agent_ids)
    if not ids:
        return set()
    since = timezone.now() - SCREEN_POP_WINDOW
    return set(
        Call.objects.filter(
            agent_id__in=ids, popped_at__isnull=True, answered_at__gte=since, direction=CallDirection.INBOUND
        )
        .values_list("agent_id", flat=True)
        .distinct()
    )


def record_url(pop: ScreenPop) -> str:
    """The customer record of the caller, opened for an incoming call (the purpose audited), with the motive."""
    from omniguichet.crm.purposes import PURPOSES

    query = urlencode({"purpose": str(PURPOSES[0]), "motive": pop.motive})
    return f"{reverse('crm:record', args=[pop.person_id])}?{query}"


def search_url() -> str:
    """The search of the customer records, opened for an incoming call (the purpose audited): an unknown caller's
    link."""
    from omniguichet.crm.purposes import PURPOSES

    return f"{reverse('crm:console')}?{urlencode({'purpose': str(PURPOSES[0])})}"


def calls_of_agent(*, actor: Actor, limit: int = 10) -> list[Call]:
    """The agent's latest answered calls (the telephony page lists them)."""
    if actor.user is None:
        return []
    return list(
        Call.objects.filter(Q(agent=actor.user)).select_related("motive").order_by("-answered_at")[:limit]
    )
