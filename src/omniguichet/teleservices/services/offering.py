"""Who may use what, where: the services offered to an actor on a channel, and the refusal (not offered, not
eligible, account closed) when one is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from omniguichet.accounts.models import AccountStatus
from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.referential.models import Person
from omniguichet.teleservices.services.declaration import (
    AGENT_CHANNELS,
    AUDIENCE_INSURED,
    CATALOGUE,
    CHANNEL_LABELS,
    OFFER_AGENT,
    InputField,
    Teleservice,
)


def _offer_of(channel: str) -> str:
    if channel in (Channel.WEB, Channel.APP, Channel.KIOSK):
        return str(channel)
    return OFFER_AGENT


def refusal(service: Teleservice, *, channel: str, person: Person) -> Forbidden | None:
    """Why the service cannot be used here by this person (403 with the reason), or None."""
    offer = _offer_of(channel)
    if offer not in service.channels:
        offered = ", ".join(str(CHANNEL_LABELS[c]) for c in sorted(service.channels))
        return Forbidden(
            _("the service %(s)s is not offered on %(c)s (offered on: %(o)s)")
            % {"s": service.code, "c": CHANNEL_LABELS[offer], "o": offered or "-"},
            code="not_offered",
        )
    if AUDIENCE_INSURED not in service.audience:
        return Forbidden(
            _("the service %(s)s is reserved to %(a)s")
            % {"s": service.code, "a": ", ".join(sorted(service.audience))},
            code="not_open",
        )
    if service.eligibility is not None:
        reason = service.eligibility(person)
        if reason:
            return Forbidden(reason, code="not_eligible")
    return None


def _person_for(*, actor: Actor, channel: str, person_id: Any) -> Person:
    """The person the service is used for: the insured themself, or (for an agent) a person of their caisse."""
    if actor.kind == ActorKind.INSURED:
        if actor.person_id is None:
            raise Forbidden(_("reserved to insured persons with an online account"))
        if person_id not in (None, actor.person_id):
            raise Forbidden(_("an insured person acts only for themself"), fields={"person_id": _("not you")})
        if channel not in (Channel.WEB, Channel.APP, Channel.KIOSK):
            raise Forbidden(_("insured persons use the web account, the app or a kiosk"))
        person = Person.objects.select_related("caisse", "account").get(pk=actor.person_id)
        if person.account.status != AccountStatus.ACTIVE:
            raise Forbidden(
                _("this online account is %(s)s") % {"s": person.account.get_status_display()}, code="account"
            )
        return person
    if actor.kind == ActorKind.AGENT:
        if channel not in AGENT_CHANNELS:
            raise InvalidInput.from_fields(
                {"channel": _("must be one of %(c)s") % {"c": ", ".join(c.value for c in AGENT_CHANNELS)}}
            )
        if not isinstance(person_id, int) or isinstance(person_id, bool):
            raise InvalidInput.from_fields(
                {"person_id": _("an agent acts on behalf of a person: give person_id")}
            )
        found = scope_to_caisse(Person.objects.select_related("caisse"), actor).filter(pk=person_id).first()
        if found is None:
            raise NotFound(_("no such person"))
        return found
    raise Forbidden(_("online services are used by insured persons or by agents on their behalf"))


@dataclass
class ServiceView:
    """A service as one actor sees it on one channel."""

    code: str
    title: str
    description: str
    audience: list[str]
    channels: list[str]
    motive: str
    self_service: bool
    required_documents: list[str]
    fields: list[InputField]
    document: str
    available: bool
    reason: str


def offered_services(*, actor: Actor, channel: str, person: Person | None = None) -> list[ServiceView]:
    """The catalogue for this actor on this channel, with whether each service is open to them and why not."""
    if person is None:
        person = (
            _person_for(actor=actor, channel=channel, person_id=actor.person_id) if actor.person_id else None
        )
    offer = _offer_of(channel)
    views = []
    for service in CATALOGUE.values():
        if offer not in service.channels or AUDIENCE_INSURED not in service.audience:
            continue
        refused = refusal(service, channel=channel, person=person) if person is not None else None
        views.append(
            ServiceView(
                code=service.code,
                title=str(service.title),
                description=str(service.description),
                audience=sorted(service.audience),
                channels=sorted(service.channels),
                motive=service.motive,
                self_service=service.self_service,
                required_documents=list(service.required_documents),
                fields=list(service.fields),
                document=service.document,
                available=refused is None,
                reason=refused.message if refused else "",
            )
        )
    return views
