"""Channel policy: how a message reaches a person (inbox, push, SMS, e-mail, letter) from what the person allows
and what the platform knows of them (their reach)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from omniguichet.core.db import values_subquery
from omniguichet.outreach.models import (
    MessageChannel,
    _parsed_policy,
)
from omniguichet.referential.models import ChannelPreference, Consent, ConsentPurpose, ContactPoint, Person


@dataclass
class Reach:
    """What a person can receive, from their account, verified contact points, preferences and consents."""

    account: bool = False
    app: bool = False
    mobile: str = ""
    email: str = ""
    address: str = ""
    sms_allowed: bool = True
    email_allowed: bool = True
    paper_allowed: bool = True
    preferred: str = "account"
    consent_refused: bool = False

    def available(self, channel: str) -> bool:
        if channel == MessageChannel.INBOX:
            return self.account
        if self.consent_refused:  # the account inbox is the person's own space; nothing else
            return False
        if channel == MessageChannel.PUSH:
            return self.app
        if channel == MessageChannel.SMS:
            return bool(self.mobile) and self.sms_allowed
        if channel == MessageChannel.EMAIL:
            return bool(self.email) and self.email_allowed
        return bool(self.address) and self.paper_allowed

    def recipient(self, channel: str) -> str:
        recipients: dict[str, str] = {"sms": self.mobile, "email": self.email, "letter": self.address}
        return recipients.get(channel, "")


PREFERRED_TO_CHANNEL: dict[str, str] = {
    "sms": MessageChannel.SMS,
    "email": MessageChannel.EMAIL,
    "paper": MessageChannel.LETTER,
}


def choose_channels(reach: Reach, policy: str) -> list[str]:
    """The channels of the first step of the policy the person can receive (the fallback chain). A preferred
    channel (SMS, e-mail, paper) named by the policy is tried first."""
    steps: Sequence[Sequence[str]] = _parsed_policy(policy)
    preferred = PREFERRED_TO_CHANNEL.get(reach.preferred)
    if preferred and any(preferred in step for step in steps):
        steps = [[preferred], *[[c for c in s if c != preferred] for s in steps]]
    for step in steps:
        channels = [c for c in step if reach.available(c)]
        if channels:
            return channels
    return []


# Who has an active online account (and with it the inbox and the app): answered by the accounts app, which
# registers at start-up. One query for all the persons of a batch: (person id, has a login for the app) pairs.
_account_providers: list[Callable[[list[int]], Iterable[tuple[int, bool]]]] = []


def register_account_provider(provider: Callable[[list[int]], Iterable[tuple[int, bool]]]) -> None:
    if provider not in _account_providers:
        _account_providers.append(provider)


def load_reach(persons: Iterable[Person]) -> dict[int, Reach]:
    """Reach of many persons in four queries."""
    by_id = {p.pk: p for p in persons}
    ids = list(by_id)
    reach = {
        pk: Reach(address=", ".join(filter(None, [p.address_line, f"{p.postcode} {p.city}".strip()]))
                  if p.address_line else "")
        for pk, p in by_id.items()
    }  # fmt: skip
    if not ids:
        return reach
    for accounts in _account_providers:
        for person_id, has_app in accounts(ids):
            reach[person_id].account = True
            reach[person_id].app = has_app
    for person_id, kind, value in (
        ContactPoint.objects.filter(person_id__in=values_subquery(ids, of="bigint"), verified=True)
        .order_by("person_id", "created_at")
        .values_list("person_id", "kind", "value")
    ):
        if kind == "mobile" and not reach[person_id].mobile:
            reach[person_id].mobile = value
        elif kind == "email" and not reach[person_id].email:
            reach[person_id].email = value
    for person_id, sms, email, paper, preferred, e_documents in ChannelPreference.objects.filter(
        person_id__in=values_subquery(ids, of="bigint")
    ).values_list(
        "person_id", "sms_allowed", "email_allowed", "paper_allowed", "preferred_channel", "e_documents"
    ):
        r = reach[person_id]
        r.sms_allowed, r.email_allowed, r.paper_allowed = sms, email, paper and not e_documents
        r.preferred = preferred
    for person_id in Consent.objects.filter(
        person_id__in=values_subquery(ids, of="bigint"),
        purpose=ConsentPurpose.PROACTIVE_MESSAGES,
        granted=False,
    ).values_list("person_id", flat=True):
        reach[person_id].consent_refused = True
    return reach
