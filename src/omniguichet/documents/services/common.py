"""Constants and helpers every part of documents shares: channels, limits, the scope of a person."""

from __future__ import annotations

from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.referential.models import Person

DEPOSIT_MOTIVE = "depot_piece"


# The seeded deadline policy of documents (crm 0009); deposits read the policy (crm.services.deadline_for).
DEFAULT_DEADLINE_DAYS = 10


BASKET_PAGE = 50


MAX_BASKET_PAGE = 200


MAX_BULK = 200


INSURED_CHANNELS = (Channel.WEB, Channel.APP, Channel.KIOSK)


AGENT_CHANNELS = (Channel.RECEPTION, Channel.PHONE, Channel.EMAIL, Channel.LETTER)


MAX_ID = 2**63 - 1


def _valid_id(value: int | None) -> bool:
    """Ids outside a 64-bit integer name nothing (and must not reach SQLite, which overflows on them)."""
    return value is not None and 0 < value <= MAX_ID


def _scoped_person(actor: Actor, person_id: int | None) -> Person:
    if actor.kind == ActorKind.INSURED:
        if person_id is not None and person_id != actor.person_id:
            raise NotFound(_("no such person"))
        person_id = actor.person_id
    if person_id is None:
        raise InvalidInput.from_fields({"person_id": _("required when an agent deposits for a person")})
    if not _valid_id(person_id):
        raise NotFound(_("no such person"))
    queryset = Person.objects.filter(pk=person_id)
    if actor.kind == ActorKind.AGENT:
        queryset = scope_to_caisse(queryset, actor)
    elif actor.kind != ActorKind.INSURED and actor.kind != ActorKind.SYSTEM:
        raise Forbidden(_("partners cannot deposit documents"))
    person = queryset.first()
    if person is None:
        raise NotFound(_("no such person"))
    return person
