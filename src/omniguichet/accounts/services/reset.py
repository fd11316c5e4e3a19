"""Password reset by a code sent to a verified contact point."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, AccountStatus, CodeDelivery, CodePurpose, OneTimeCode
from omniguichet.accounts.services.activation import (
    _check_password,
    _decoy,
    _identity,
    _notify,
    _verified_point,
)
from omniguichet.accounts.services.codes import _consume, check_code, issue_code
from omniguichet.core import throttle
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.referential.models import (
    ContactPointKind,
    Person,
    User,
)


def start_password_reset(*, nir: Any, birth_date: Any, channel: str, address: str = "") -> OneTimeCode:
    """A code to the verified mobile, or else the verified e-mail, of an activated account. Returns the code (its
    challenge is kept for the next step): a decoy when the NIR and birth date match no account that can receive a
    code, so that the answer is the same for anyone (a person without an active account is told by e-mail or
    SMS)."""
    fields: dict[str, str] = {}
    clean_nir, birth = _identity(nir, birth_date, fields)
    if fields or clean_nir is None or birth is None:
        raise InvalidInput.from_fields(fields)
    throttle.attempt([("start.nir", clean_nir), ("start.address", address)])
    decoy = _decoy(CodePurpose.PASSWORD_RESET, CodeDelivery.SMS)
    person = Person.objects.filter(nir=clean_nir, birth_date=birth).first()
    if person is None:
        return decoy
    if not Account.objects.filter(person=person, user__isnull=False, status=AccountStatus.ACTIVE).exists():
        _notify(
            person,
            key="reset-no-account",
            subject=_("You have no active online account"),
            body=_(
                "Hello,\n\nSomeone asked for a new password for your health insurance online account, but no "
                'account is active for you. To open one, choose "Activate my online account".\n\nIf you did '
                "not ask for it, you have nothing to do."
            ),
            sms=_(
                "Health insurance: no online account is active for you. To open one, choose Activate my online "
                "account. If you did not ask for it, ignore this message."
            ),
        )
        return decoy
    point = _verified_point(person, ContactPointKind.MOBILE) or _verified_point(
        person, ContactPointKind.EMAIL
    )
    if point is None:
        return decoy
    delivery = CodeDelivery.SMS if point.kind == ContactPointKind.MOBILE else CodeDelivery.EMAIL
    try:
        otc = issue_code(
            person=person, purpose=CodePurpose.PASSWORD_RESET, delivery=delivery, target=point.value
        )
    except Forbidden:  # too many codes this hour: the throttle on the NIR normally refuses first
        return decoy
    return otc


def complete_password_reset(
    *, challenge: Any, code: Any, password: Any, password2: Any, channel: str, address: str = ""
) -> User:
    fields: dict[str, str] = {}
    otc = None
    try:
        otc = check_code(
            challenge=challenge,
            code=code,
            purpose=CodePurpose.PASSWORD_RESET,
            address=address,
            channel=channel,
        )
    except InvalidInput as exc:
        fields.update(exc.fields)
    user = None
    if otc is not None:
        user = Account.objects.select_related("user").get(person=otc.person).user
    _check_password(fields, password, password2, user)
    if fields or otc is None or user is None:
        raise InvalidInput.from_fields(fields)
    with transaction.atomic():
        _consume(otc)
        user.set_password(password)
        user.save(update_fields=["password"])
    return user
