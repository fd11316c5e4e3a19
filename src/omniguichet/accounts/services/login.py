"""Login: the password (throttled per account and address, never a lock a stranger can trigger), the second
factor, and the FranceConnect-style OpenID Connect login."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, AccountStatus, CodeDelivery, CodePurpose, OneTimeCode
from omniguichet.accounts.services.activation import _verified_point
from omniguichet.accounts.services.codes import _consume, check_code, issue_code
from omniguichet.accounts.services.preferences import account_of
from omniguichet.core import throttle
from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, collect
from omniguichet.core.text import check_text
from omniguichet.referential import validators
from omniguichet.referential.models import (
    ContactPointKind,
    Person,
    User,
)


@dataclass
class LoginResult:
    user: User | None
    # Set when the account asks for a second factor: the challenge of the code sent by SMS.
    second_factor: OneTimeCode | None = None


@functools.cache
def _dummy_hash() -> str:
    """A hash to check a password against when the NIR has no account (the same time as a real check). Made on
    first use, not at import: the hasher is deliberately slow."""
    return make_password("not-a-real-password")


def _wrong_credentials() -> InvalidInput:
    return InvalidInput.from_fields({"password": _("wrong social security number or password")})


def authenticate(*, nir: Any, password: Any, channel: str, address: str = "") -> LoginResult:
    """Password login by NIR. No lock: failures are throttled (core.throttle) per (NIR, address), per NIR and per
    address, with growing delays, so that a stranger who knows a NIR cannot lock its owner out. A NIR without an
    account gets the same answer, status and time as a wrong password; failures of a real login are audited."""
    fields: dict[str, str] = {}
    clean_nir = collect(fields, "nir", validators.validate_nir, nir if isinstance(nir, str) else "")
    if not isinstance(password, str) or not password:
        fields["password"] = _("enter your password")
    elif check_text(fields, "password", password, 128) is None:
        pass
    if fields or clean_nir is None:
        raise InvalidInput.from_fields(fields)
    throttle.check_all(throttle.login_keys(clean_nir, address))
    account = (
        Account.objects.select_related("user", "person")
        .filter(person__nir=clean_nir, user__isnull=False)
        .first()
    )
    user = account.user if account is not None else None
    if account is None or user is None:
        check_password(password, _dummy_hash())  # the same time as a real check
        throttle.login_failed(clean_nir, address, channel=channel)
        raise _wrong_credentials()
    if not user.check_password(password):
        throttle.login_failed(clean_nir, address, user=user, channel=channel)
        raise _wrong_credentials()
    throttle.login_succeeded(clean_nir, address)
    if account.status != AccountStatus.ACTIVE or not user.is_active:
        raise Forbidden(_("this online account is %(s)s") % {"s": account.get_status_display()})
    otc = second_factor_code(account)
    if otc is not None:
        return LoginResult(user=None, second_factor=otc)
    return LoginResult(user=user)


def recent_failed_logins(*, actor: Actor) -> list[Any]:
    """The failed logins to my account in the last 30 days (wrong passwords and codes), newest first."""
    account = account_of(actor=actor)
    if account.user is None:
        return []
    return throttle.recent_login_failures(user=account.user)


def second_factor_code(account: Account) -> OneTimeCode | None:
    """The code of the second factor when the account asks for one, whatever the first factor (a password or
    a FranceConnect-style identity): by SMS to the verified mobile, else by e-mail to the verified address. When
    the person chose it but neither is known any more, the login is refused with what to do: a second factor
    the person asked for is never skipped silently."""
    if not account.second_factor:
        return None
    person = account.person
    point = _verified_point(person, ContactPointKind.MOBILE) or _verified_point(
        person, ContactPointKind.EMAIL
    )
    if point is None:
        raise Forbidden(
            _(
                "your account asks for a code at each login, but no verified mobile or e-mail is known for you "
                "any more: contact your caisse to have one added"
            ),
            code="second_factor_unavailable",
        )
    delivery = CodeDelivery.SMS if point.kind == ContactPointKind.MOBILE else CodeDelivery.EMAIL
    return issue_code(person=person, purpose=CodePurpose.SECOND_FACTOR, delivery=delivery, target=point.value)


def external_login(*, user: User, channel: str) -> LoginResult:
    """After a FranceConnect-style provider authenticated the person: the login opens, or first the account's
    second factor (the person's choice applies to every way of logging in)."""
    account = Account.objects.select_related("person").get(user=user)
    if account.status != AccountStatus.ACTIVE or not user.is_active:
        raise Forbidden(_("this online account is %(s)s") % {"s": account.get_status_display()})
    otc = second_factor_code(account)
    if otc is not None:
        return LoginResult(user=None, second_factor=otc)
    return LoginResult(user=user)


def confirm_second_factor(*, challenge: Any, code: Any, channel: str, address: str = "") -> User:
    otc = check_code(
        challenge=challenge, code=code, purpose=CodePurpose.SECOND_FACTOR, address=address, channel=channel
    )
    _consume(otc)
    account = Account.objects.select_related("user").get(person=otc.person)
    if account.user is None:
        raise NotFound(_("no online account"))
    return account.user


FRANCECONNECT = "franceconnect"


IDENTITY_CLAIMS = (
    "sub",
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
    "email",
)


FRANCE = "99100"  # the INSEE code of France as a birth country


def user_for_external_identity(*, provider: str, subject: str) -> User | None:
    """The login of the account already linked to this identity, if any (and usable)."""
    from omniguichet.accounts.models import ExternalIdentity

    link = (
        ExternalIdentity.objects.select_related("account", "account__user")
        .filter(provider=provider, subject=subject)
        .first()
    )
    if link is None or link.account.user is None or link.account.status != AccountStatus.ACTIVE:
        return None
    return link.account.user


def match_identity(*, claims: dict[str, Any]) -> Person | None:
    """The one insured person whose identity matches the provider's: birth name, first given name, birth date,
    sex and birth place (the commune when born in France, else the country). None when zero or several match."""
    from omniguichet.core.text import fold

    try:
        birth = dt.date.fromisoformat(str(claims.get("birthdate", "")))
    except ValueError:
        return None
    family = fold(str(claims.get("family_name", "")))
    given = fold(str(claims.get("given_name", ""))).split(" ")
    sex = {"male": "M", "female": "F"}.get(str(claims.get("gender", "")))
    country = str(claims.get("birthcountry", ""))
    place = str(claims.get("birthplace", "")) if country == FRANCE else country
    if not (family and given[0] and sex and place):
        return None
    candidates = [
        p
        for p in Person.objects.filter(
            family_name_folded=family, birth_date=birth, sex=sex, birth_place=place
        )[:5]
        if fold(p.given_names).split(" ")[0] == given[0]
    ]
    return candidates[0] if len(candidates) == 1 else None


def link_external_identity(*, provider: str, claims: dict[str, Any], person: Person, channel: str) -> User:
    """After the person confirmed the match: link the identity to their account (opened if needed) and return
    its login. An account opened this way has no password until the person sets one (password reset)."""
    from omniguichet.accounts.models import ExternalIdentity

    subject = str(claims.get("sub", ""))
    if not subject:
        raise InvalidInput.from_fields({"sub": _("the provider gave no subject")})
    with transaction.atomic():
        account, _created = Account.objects.select_for_update().get_or_create(
            person=person, defaults={"opened_at": timezone.now()}
        )
        if account.status != AccountStatus.ACTIVE:
            raise Forbidden(_("this online account is %(s)s") % {"s": account.get_status_display()})
        if account.user is None:
            user = User(
                username=person.nir,
                first_name=person.given_names[:150],
                last_name=(person.usage_name or person.family_name)[:150],
            )
            user.set_unusable_password()
            user.save()
            account.user = user
            account.save(update_fields=["user"])
        try:
            with transaction.atomic():
                ExternalIdentity.objects.create(
                    provider=provider, subject=subject, account=account, linked_at=timezone.now()
                )
        except IntegrityError:
            raise Conflict(_("this identity is already linked to another account")) from None
    assert account.user is not None
    return account.user
