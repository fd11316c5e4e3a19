"""Who acts and through which channel: every service call carries both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from omniguichet.referential.models import User


class Channel(models.TextChoices):
    WEB = "web", _("web account")
    APP = "app", _("mobile app")
    KIOSK = "kiosk", _("kiosk")
    PHONE = "phone", _("phone")
    EMAIL = "email", _("e-mail")
    RECEPTION = "reception", _("reception desk")
    LETTER = "letter", _("letter")
    SMS = "sms", _("SMS")
    PUSH = "push", _("push notification")
    # The online account's secure messaging (messaging app): what a person writes to their caisse and its answers.
    SECURE_MESSAGE = "secure_message", _("secure messaging")
    # Not a contact channel: staff tools, partner APIs and batch jobs acting on the referential.
    BACKOFFICE = "backoffice", _("back office")


# The channels a contact happens on (every channel but the back office).
CONTACT_CHANNELS = [c for c in Channel if c != Channel.BACKOFFICE]
CONTACT_CHANNEL_VALUES = [c.value for c in CONTACT_CHANNELS]
CONTACT_CHANNEL_CHOICES = [(c.value, c.label) for c in CONTACT_CHANNELS]


class ActorKind(models.TextChoices):
    INSURED = "insured", _("insured person")
    AGENT = "agent", _("agent")
    PARTNER = "partner", _("partner")
    SYSTEM = "system", _("system")


@dataclass(frozen=True)
class Actor:
    kind: str
    user: User | None = None
    person_id: int | None = None
    label: str = ""

    @classmethod
    def agent(cls, user: User) -> Actor:
        return cls(kind=ActorKind.AGENT, user=user, label=user.get_username())

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=label)

    @property
    def sees_all_caisses(self) -> bool:
        if self.kind == ActorKind.SYSTEM:
            return True
        return self.user is not None and (self.user.is_national or self.user.is_superuser)

    @property
    def caisse_code(self) -> str | None:
        return self.user.caisse_id if self.user is not None else None


def scope_to_caisse(queryset: QuerySet, actor: Actor, field: str = "caisse") -> QuerySet:
    """Rows of the actor's caisse only, unless the actor has a national view. An agent without caisse sees none."""
    if actor.sees_all_caisses:
        return queryset
    if actor.kind == ActorKind.AGENT and actor.caisse_code:
        return queryset.filter(**{f"{field}_id": actor.caisse_code})
    return queryset.none()


def staff_actor(user: User) -> Actor:
    """The actor for a staff member's request; a login without a staff role may not use staff endpoints."""
    from omniguichet.core.errors import Forbidden

    if not (user.role or user.is_superuser):
        raise Forbidden("this endpoint is reserved to staff")
    return Actor.agent(user)


def insured_actor(user: User) -> Actor:
    """The actor for an insured person's own request: a login attached to an online account."""
    from omniguichet.core.errors import Forbidden

    account = getattr(user, "account", None)
    if account is None:
        raise Forbidden("this endpoint is reserved to insured persons with an online account")
    return Actor(kind=ActorKind.INSURED, user=user, person_id=account.person_id, label=user.get_username())
