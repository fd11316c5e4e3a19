"""The logged-in person: their account, channel preferences and consents, and changing their e-mail or phone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, CodeDelivery, CodePurpose, OneTimeCode
from omniguichet.accounts.services.activation import _verified_point
from omniguichet.accounts.services.codes import _consume, _wrong_code, check_code, issue_code
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, collect
from omniguichet.referential import services as referential
from omniguichet.referential.models import (
    ChannelPreference,
    ConsentPurpose,
    ContactPoint,
    ContactPointKind,
    Person,
    PreferredChannel,
)


def account_of(*, actor: Actor) -> Account:
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("reserved to insured persons with an online account"))
    return Account.objects.select_related("person", "person__caisse").get(person_id=actor.person_id)


@dataclass
class Preferences:
    preference: ChannelPreference
    consents: dict[str, bool]
    second_factor: bool
    has_mobile: bool


def get_preferences(*, actor: Actor) -> Preferences:
    account = account_of(actor=actor)
    person = account.person
    preference = ChannelPreference.objects.filter(person=person).first() or ChannelPreference(person=person)
    consents = {p: False for p in ConsentPurpose.values}
    consents.update({c.purpose: c.granted for c in person.consents.all()})
    return Preferences(
        preference=preference,
        consents=consents,
        second_factor=account.second_factor,
        has_mobile=_verified_point(person, ContactPointKind.MOBILE) is not None,
    )


def update_preferences(
    *,
    actor: Actor,
    channel: str,
    sms_allowed: bool,
    email_allowed: bool,
    paper_allowed: bool,
    e_documents: bool,
    preferred_channel: Any,
    consents: dict[str, bool],
    second_factor: bool,
) -> Preferences:
    """Channel preferences, consents, the e-documents choice and the second factor, all or nothing."""
    account = account_of(actor=actor)
    person = account.person
    fields: dict[str, str] = {}
    if preferred_channel not in PreferredChannel.values:
        fields["preferred_channel"] = _("must be one of %(c)s") % {"c": ", ".join(PreferredChannel.values)}
    unknown = set(consents) - set(ConsentPurpose.values)
    for name in sorted(unknown):
        fields[f"consent_{name}"] = _("unknown purpose")
    if preferred_channel == PreferredChannel.PAPER and e_documents:
        fields["e_documents"] = _("e-documents cannot go with paper as the preferred channel")
    if preferred_channel == PreferredChannel.SMS and not sms_allowed:
        fields["preferred_channel"] = _("SMS is preferred but not allowed")
    if preferred_channel == PreferredChannel.EMAIL and not email_allowed:
        fields["preferred_channel"] = _("e-mail is preferred but not allowed")
    if second_factor and _verified_point(person, ContactPointKind.MOBILE) is None:
        fields["second_factor"] = _("a verified mobile number is needed for the SMS code")
    if fields:
        raise InvalidInput.from_fields(fields)
    with transaction.atomic():
        referential.set_channel_preference(
            actor=actor,
            channel=channel,  # type: ignore[arg-type]
            person=person,
            sms_allowed=sms_allowed,
            email_allowed=email_allowed,
            paper_allowed=paper_allowed and not e_documents,
            e_documents=e_documents,
            preferred_channel=preferred_channel,
        )
        for purpose, granted in consents.items():
            referential.record_consent(
                actor=actor,
                channel=channel,  # type: ignore[arg-type]
                person=person,
                purpose=purpose,
                granted=granted,
            )
        if account.second_factor != second_factor:
            Account.objects.filter(pk=account.pk).update(second_factor=second_factor)
    return get_preferences(actor=actor)


def start_contact_change(*, actor: Actor, channel: str, person: Person, kind: Any, value: Any) -> OneTimeCode:
    """Send a code to the new e-mail or mobile; the change happens when the code comes back."""
    fields: dict[str, str] = {}
    if kind not in ContactPointKind.values:
        fields["kind"] = _("must be one of %(c)s") % {"c": ", ".join(ContactPointKind.values)}
        raise InvalidInput.from_fields(fields)
    text = value if isinstance(value, str) else ""
    clean = collect(fields, "value", lambda v: referential.normalise_contact_point(kind, v), text)
    if fields or clean is None:
        raise InvalidInput.from_fields(fields)
    taken = ContactPoint.objects.filter(kind=kind, value=clean, verified=True)
    if taken.filter(person=person).exists():
        raise InvalidInput.from_fields({"value": _("this is already your verified contact")})
    if taken.exists():
        raise Conflict(
            _("this verified contact point already belongs to another account"),
            fields={"value": _("already verified for another account")},
        )
    delivery = CodeDelivery.SMS if kind == ContactPointKind.MOBILE else CodeDelivery.EMAIL
    return issue_code(person=person, purpose=CodePurpose.CONTACT_CHANGE, delivery=delivery, target=clean)


def confirm_contact_change(
    *, actor: Actor, channel: str, person: Person, challenge: Any, code: Any, address: str = ""
) -> ContactPoint:
    """The code sent to the new point: it becomes the person's verified point of its kind (the old one goes)."""
    otc = check_code(
        challenge=challenge, code=code, purpose=CodePurpose.CONTACT_CHANGE, address=address, channel=channel
    )
    if otc.person_id != person.pk:
        raise _wrong_code()
    kind = ContactPointKind.MOBILE if otc.delivery == CodeDelivery.SMS else ContactPointKind.EMAIL
    with transaction.atomic():
        _consume(otc)
        ContactPoint.objects.filter(person=person, kind=kind).exclude(value=otc.target).delete()
        point = ContactPoint.objects.filter(person=person, kind=kind, value=otc.target).first()
        if point is None:
            point = referential.add_contact_point(
                actor=actor,
                channel=channel,  # type: ignore[arg-type]
                person=person,
                kind=kind,
                value=otc.target,
            )
        referential.verify_contact_point(actor=actor, channel=channel, point=point)  # type: ignore[arg-type]
    return point
