"""The inbox (the messages of the outbound ledger and what other apps register), the account home's services, and
the accounts other apps ask about (the ledger's reach, the home page's figure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, AccountStatus
from omniguichet.accounts.services.preferences import account_of
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.errors import Forbidden, NotFound


@dataclass
class InboxItem:
    """One message of the account's inbox, already in plain words. `message_id` and `read` are set for the
    messages the outbound ledger delivered to the account (they have a read state); the notices of other apps
    (e.g. the answer to an online request) have neither."""

    ref: str
    subject: str
    body: str
    when: dt.datetime
    url: str = ""
    message_id: int | None = None
    read: bool | None = None


# Apps that have something to tell the person register a provider: provider(person) -> list[InboxItem], exactly
# one query, newest first. The online services register theirs; the messages the outbound ledger delivered to
# the account (outreach.InboxMessage) are read here directly, with their read state.
_INBOX_PROVIDERS: list = []


MAX_ID = 2**63 - 1


def register_inbox_provider(provider) -> None:
    if provider not in _INBOX_PROVIDERS:
        _INBOX_PROVIDERS.append(provider)


def _message_item(message: Any) -> InboxItem:
    from django.urls import reverse

    return InboxItem(
        ref=f"message-{message.pk}",
        subject=message.subject,
        body=message.body,
        when=message.created_at,
        url=reverse("accounts:inbox_message", args=[message.pk]),
        message_id=message.pk,
        read=message.read_at is not None,
    )


def _person_id(actor: Actor) -> int:
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("reserved to insured persons with an online account"))
    return actor.person_id


def inbox_messages(*, actor: Actor, limit: int = 50) -> list[Any]:
    """The messages the outbound ledger delivered to my account, newest first (one query)."""
    from omniguichet.outreach.models import InboxMessage

    return list(
        InboxMessage.objects.filter(person_id=_person_id(actor)).order_by("-created_at", "-id")[:limit]
    )


def unread_count(*, actor: Actor) -> int:
    from omniguichet.outreach.models import InboxMessage

    return InboxMessage.objects.filter(person_id=_person_id(actor), read_at__isnull=True).count()


def inbox(*, actor: Actor, limit: int = 50) -> list[InboxItem]:
    """The person's inbox: the ledger's messages (with their read state) and the notices of every provider,
    newest first (one query each)."""
    person = account_of(actor=actor).person
    items = [_message_item(m) for m in inbox_messages(actor=actor, limit=limit)]
    items += [item for provider in _INBOX_PROVIDERS for item in provider(person)]
    return sorted(items, key=lambda item: item.when, reverse=True)[:limit]


def read_message(*, actor: Actor, channel: str, message_id: Any) -> Any:
    """One of my messages, marked read (the first time only). Another person's message is a 404, like a missing
    one."""
    from omniguichet.outreach.models import InboxMessage

    person_id = _person_id(actor)
    if not isinstance(message_id, int) or isinstance(message_id, bool) or not 0 < message_id <= MAX_ID:
        raise NotFound(_("no such message"))
    message = InboxMessage.objects.filter(pk=message_id, person_id=person_id).first()
    if message is None:
        raise NotFound(_("no such message"))
    if message.read_at is None:
        now = timezone.now()
        if InboxMessage.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now):
            message.read_at = now
        else:  # read meanwhile (another device): keep that time
            message.refresh_from_db(fields=["read_at"])
    return message


def mark_all_read(*, actor: Actor, channel: str) -> int:
    """Every unread message of mine marked read; returns how many."""
    from omniguichet.outreach.models import InboxMessage

    return InboxMessage.objects.filter(person_id=_person_id(actor), read_at__isnull=True).update(
        read_at=timezone.now()
    )


def count_accounts() -> int:
    """How many online accounts exist (the home page's figure; cached there)."""
    return Account.objects.count()


def active_accounts(person_ids: list[int]) -> list[tuple[int, bool]]:
    """Of these persons, those with an active online account, and whether they have a login for the app (one
    query; the outbound ledger asks it through its registry to know who has an inbox)."""
    from omniguichet.core.db import values_subquery

    rows = Account.objects.filter(
        person_id__in=values_subquery(person_ids, of="bigint"), status=AccountStatus.ACTIVE
    ).values_list("person_id", "user_id")
    return [(person_id, user_id is not None) for person_id, user_id in rows]


_home_services: list[Callable[..., list[Any]]] = []


def register_home_services(provider: Callable[..., list[Any]]) -> None:
    """provider(actor=, channel=) -> the online services offered to the person (teleservices registers it)."""
    _home_services[:] = [provider]


def home_services(*, actor: Actor, channel: Channel) -> list[Any]:
    return [item for provider in _home_services for item in provider(actor=actor, channel=channel)]
