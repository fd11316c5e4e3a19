"""Activating an online account: identity checks (NIR and birth date), the code, the password; the same answer
whether the person or account exists or not."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, AccountStatus, CodeDelivery, CodePurpose, OneTimeCode
from omniguichet.accounts.services.codes import CODE_MOTIVE, _consume, _postal_address, check_code, issue_code
from omniguichet.core import throttle
from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, collect
from omniguichet.core.text import check_text
from omniguichet.referential import validators
from omniguichet.referential.models import (
    ContactPoint,
    ContactPointKind,
    Person,
    User,
)


def _parse_birth_date(fields: dict[str, str], value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    parsed = None
    try:
        if "/" in text:
            day, month, year = (int(p) for p in text.split("/"))
            parsed = dt.date(year, month, day)
        elif text:
            parsed = parse_date(text)
    except ValueError:
        parsed = None
    if parsed is None:
        fields["birth_date"] = _("enter a date as DD/MM/YYYY")
    return parsed


def _verified_point(person: Person, kind: str) -> ContactPoint | None:
    return (
        ContactPoint.objects.filter(person=person, kind=kind, verified=True).order_by("-verified_at").first()
    )


def _check_password(fields: dict[str, str], password: Any, password2: Any, user: User | None) -> str | None:
    if not isinstance(password, str) or not password:
        fields["password"] = _("choose a password")
        return None
    if check_text(fields, "password", password, 128) is None:
        return None
    if password2 is not None and password != password2:
        fields["password2"] = _("the two passwords differ")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        fields["password"] = " ".join(str(m) for m in exc.messages)
    return password


def _identity(nir: Any, birth_date: Any, fields: dict[str, str]) -> tuple[str | None, dt.date | None]:
    """The NIR and birth date as typed, checked for their form only (which tells nothing about anyone)."""
    clean_nir = collect(fields, "nir", validators.validate_nir, nir if isinstance(nir, str) else "")
    birth = _parse_birth_date(fields, birth_date)
    return clean_nir, birth


def _decoy_challenge() -> str:
    """A challenge that names no code: kept in the session like a real one when the NIR matches nobody, so that
    the next page and its answers are the same (check_code answers it like a wrong code)."""
    return secrets.token_urlsafe(24)


def _decoy(purpose: str, delivery: str) -> OneTimeCode:
    """What start_activation and start_password_reset return when no code was sent: a code never saved (pk None)
    whose challenge is a decoy. Callers keep only its challenge, like a real one's."""
    return OneTimeCode(challenge=_decoy_challenge(), purpose=purpose, delivery=delivery)


def _notify(person: Person, *, key: str, subject: str, body: str, sms: str) -> None:
    """A message that must not appear on the screen (it would tell a stranger that the person has an account)
    goes to a channel only the person controls: their verified e-mail, else their verified mobile. At most one
    per key (the key carries the hour: no flood)."""
    from omniguichet.outreach.services import send_on_request

    email = _verified_point(person, ContactPointKind.EMAIL)
    mobile = _verified_point(person, ContactPointKind.MOBILE)
    point = email or mobile
    if point is None:
        return
    channel = "email" if point is email else "sms"
    hour = timezone.now().strftime("%Y%m%d%H")
    with transaction.atomic():
        send_on_request(
            actor=Actor.system("accounts"),
            person=person,
            idempotency_key=f"{key}-{person.pk}-{hour}",
            channel=channel,
            recipient=point.value,
            subject=subject,
            body=body if channel == "email" else sms,
            motive=CODE_MOTIVE,
        )


def start_activation(
    *, nir: Any, birth_date: Any, delivery: Any, channel: str, address: str = ""
) -> OneTimeCode:
    """Step 1: the person gives their NIR and birth date; a code goes to their verified mobile or by letter
    (by letter when SMS was asked but no verified mobile is known). Returns the code (its challenge is kept for
    step 2).

    The answer is the same whoever the NIR belongs to: a NIR and birth date that match nobody, or a person whose
    account is already active, get a decoy (an unsaved code with a decoy challenge); the person with an active
    account is told so by e-mail or SMS, never on the screen. Every request counts on the throttle (per NIR, per
    address)."""
    fields: dict[str, str] = {}
    if delivery not in (CodeDelivery.SMS, CodeDelivery.LETTER):
        fields["delivery"] = _("choose SMS or letter")
    clean_nir, birth = _identity(nir, birth_date, fields)
    if fields or clean_nir is None or birth is None:
        raise InvalidInput.from_fields(fields)
    throttle.attempt([("start.nir", clean_nir), ("start.address", address)])
    decoy = _decoy(CodePurpose.ACTIVATION, str(delivery))
    person = Person.objects.filter(nir=clean_nir, birth_date=birth).first()
    if person is None:
        return decoy
    account = Account.objects.filter(person=person).first()
    if account is not None and account.user_id is not None:
        _notify(
            person,
            key="activation-active",
            subject=_("Your online account is already active"),
            body=_(
                "Hello,\n\nSomeone asked to activate your health insurance online account, which is already "
                "active. To log in, use your social security number and your password; if you forgot it, choose "
                '"Forgotten password".\n\nIf you did not ask for it, you have nothing to do.'
            ),
            sms=_(
                "Health insurance: your online account is already active. Log in, or choose Forgotten password. "
                "If you did not ask for it, ignore this message."
            ),
        )
        return decoy
    if account is not None and account.status != AccountStatus.ACTIVE:
        return decoy
    mobile = _verified_point(person, ContactPointKind.MOBILE) if delivery == CodeDelivery.SMS else None
    if mobile is not None:
        send_by, target = CodeDelivery.SMS, mobile.value
    elif person.address_line:
        send_by, target = CodeDelivery.LETTER, _postal_address(person)
    else:
        return decoy
    try:
        otc = issue_code(person=person, purpose=CodePurpose.ACTIVATION, delivery=send_by, target=target)
    except Forbidden:  # too many codes this hour: the throttle on the NIR normally refuses first
        return decoy
    return otc


def letter_challenge(fields: dict[str, str], nir: Any) -> str:
    """The challenge of the activation code a letter brought to the holder of this NIR (the letter arrives days
    after the session that asked for it ended, so the person gives their NIR with the code). When none waits, a
    decoy: the code is then refused like a wrong one, and the answer says nothing of the NIR."""
    clean = collect(fields, "nir", validators.validate_nir, nir if isinstance(nir, str) else "")
    if clean is None:
        return ""
    otc = (
        OneTimeCode.objects.filter(
            person__nir=clean,
            purpose=CodePurpose.ACTIVATION,
            delivery=CodeDelivery.LETTER,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )
    return otc.challenge if otc is not None else _decoy_challenge()


def complete_activation(
    *,
    challenge: Any,
    code: Any,
    password: Any,
    password2: Any,
    channel: str,
    nir: Any = None,
    address: str = "",
) -> User:
    """Step 2: the code and a password; the account is opened (or its existing row gets its login). Without the
    challenge (a code received by letter), the NIR names the code."""
    fields: dict[str, str] = {}
    _check_password(fields, password, password2, None)
    if not challenge and nir is not None:
        challenge = letter_challenge(fields, nir)
    otc = None
    if challenge or not fields:
        try:
            otc = check_code(
                challenge=challenge,
                code=code,
                purpose=CodePurpose.ACTIVATION,
                address=address,
                channel=channel,
            )
        except InvalidInput as exc:
            fields.update({k: v for k, v in exc.fields.items() if k not in fields})
    if fields or otc is None:
        raise InvalidInput.from_fields(fields)
    person = otc.person
    with transaction.atomic():
        _consume(otc)
        account, _created = Account.objects.select_for_update().get_or_create(
            person=person, defaults={"opened_at": timezone.now()}
        )
        if account.user_id is not None:
            raise Conflict(_("an online account is already active for this person"))
        if account.status != AccountStatus.ACTIVE:
            raise Forbidden(
                _("this online account is %(s)s: contact your caisse") % {"s": account.get_status_display()}
            )
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=person.nir,
                    password=password,
                    first_name=person.given_names[:150],
                    last_name=(person.usage_name or person.family_name)[:150],
                )
        except IntegrityError:
            raise Conflict(_("an online account is already active for this person")) from None
        account.user = user
        account.save(update_fields=["user"])
    return user
