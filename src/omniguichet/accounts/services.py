"""The online account: activation, password login (throttled), second factor, password reset, preferences,
and the one-time codes that prove a person holds a phone, an e-mail address or a postal address."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, AccountStatus, CodeDelivery, CodePurpose, OneTimeCode
from omniguichet.core import throttle
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.apps import TaskHook
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, collect
from omniguichet.core.text import check_text
from omniguichet.referential import services as referential
from omniguichet.referential import validators
from omniguichet.referential.models import (
    ChannelPreference,
    ConsentPurpose,
    ContactPoint,
    ContactPointKind,
    Person,
    PreferredChannel,
    User,
)

CODE_LIFETIME = dt.timedelta(minutes=10)
LETTER_CODE_LIFETIME = dt.timedelta(days=15)
MAX_CODE_ATTEMPTS = 5
# At most this many codes of one purpose per person and hour: a code cannot be used to flood a phone.
MAX_CODES_PER_HOUR = 5


# --- sending one-time codes ----------------------------------------------------------------------------------
# Every code goes through the outbound message ledger (outreach.services.send_on_request) on the ONE channel it
# was asked for, to the exact target, written in the transaction of the code (a rollback sends nothing) and
# dispatched after commit. The ledger keeps the code only while it is needed: once the message is sent and the
# code used or expired, its body is replaced by the same text with the code masked (see docs/online-account.md).
CODE_MOTIVE = "compte_en_ligne"
CODE_MASK = "••••••"
# How long after issuing a code its sent message is first checked for redaction (then at the code's expiry).
REDACT_CHECK = dt.timedelta(minutes=2)
_DELIVERY_CHANNEL = {CodeDelivery.SMS: "sms", CodeDelivery.EMAIL: "email", CodeDelivery.LETTER: "letter"}


def _code_subject(purpose: str) -> str:
    subjects: dict[str, str] = {
        CodePurpose.ACTIVATION: _("Your code to activate your online account"),
        CodePurpose.SECOND_FACTOR: _("Your login code"),
        CodePurpose.PASSWORD_RESET: _("Your code to choose a new password"),
        CodePurpose.CONTACT_CHANGE: _("Your code to confirm your new contact details"),
    }
    return str(subjects.get(purpose, _("Your code")))


def code_message(*, purpose: str, delivery: str, code: str, expires_at: dt.datetime) -> tuple[str, str]:
    """(subject, body) of the message that carries a code; `code` may be the mask (the redacted body)."""
    subject = _code_subject(purpose)
    if delivery == CodeDelivery.SMS:
        whats: dict[str, str] = {
            CodePurpose.ACTIVATION: _("activation"),
            CodePurpose.SECOND_FACTOR: _("login"),
            CodePurpose.PASSWORD_RESET: _("new password"),
            CodePurpose.CONTACT_CHANGE: _("contact details"),
        }
        what = whats.get(purpose, "")
        body = _(
            "Health insurance: your %(what)s code is %(code)s, valid 10 minutes. Never give it to anyone, not "
            "even an agent."
        ) % {"what": what, "code": code}
        return subject, body
    if delivery == CodeDelivery.LETTER:
        until = timezone.localtime(expires_at).strftime("%d/%m/%Y")
        body = _(
            "Hello,\n\nYou asked to activate your health insurance online account. Your activation code is:\n\n"
            '%(code)s\n\nIt is valid until %(until)s. Go to the online account, choose "Activate my account", '
            "give your social security number and this code.\n\nIf you did not ask for it, contact your caisse."
        ) % {"code": code, "until": until}
        return subject, body
    body = _(
        "Hello,\n\nYour code is: %(code)s\n\nIt is valid 10 minutes. Never give it to anyone, not even an "
        "agent of your caisse. If you did not ask for it, ignore this message."
    ) % {"code": code}
    return subject, body


def _code_message_keys(otc: OneTimeCode) -> list[str]:
    return [f"request:otc-{otc.pk}:{_DELIVERY_CHANNEL[otc.delivery]}"]  # type: ignore[index]


def _send_code(otc: OneTimeCode, code: str) -> None:
    from omniguichet.outreach.services import send_on_request

    subject, body = code_message(
        purpose=otc.purpose, delivery=otc.delivery, code=code, expires_at=otc.expires_at
    )
    send_on_request(
        actor=Actor.system("accounts"),
        person=otc.person,
        idempotency_key=f"otc-{otc.pk}",
        channel=_DELIVERY_CHANNEL[otc.delivery],  # type: ignore[index]
        recipient=otc.target,
        subject=subject,
        body=body,
        motive=CODE_MOTIVE,
    )
    transaction.on_commit(lambda: _enqueue_redaction(otc.pk, timezone.now() + REDACT_CHECK))


# Set by accounts.apps to the task that redacts the message of a code (accounts.tasks.enqueue_redaction).
_enqueue_redaction = TaskHook("accounts: redact a code's message later")


def redact_code_message(*, otc: OneTimeCode, now: dt.datetime | None = None) -> bool:
    """Mask the code in the ledger's copy of its message once it served: sent (or failed), or the code used or
    expired (a message still queued then is failed: the code is no use any more). Returns True when nothing of
    this code is left in clear (False: the message is still on its way; check again later)."""
    from omniguichet.outreach.models import MessageState, OutboundMessage
    from omniguichet.outreach.services import redact_messages

    now = now or timezone.now()
    _subject, masked = code_message(
        purpose=otc.purpose, delivery=otc.delivery, code=CODE_MASK, expires_at=otc.expires_at
    )
    finished = otc.used_at is not None or otc.expires_at <= now
    keys = _code_message_keys(otc)
    redact_messages(idempotency_keys=keys, body=masked, expire_queued=finished)
    return (
        finished
        or not OutboundMessage.objects.filter(idempotency_key__in=keys, state=MessageState.QUEUED).exists()
    )


# --- codes ---------------------------------------------------------------------------------------------------
def _hash_code(challenge: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{challenge}:{code}".encode(), hashlib.sha256).hexdigest()


def _postal_address(person: Person) -> str:
    return f"{person.address_line}, {person.postcode} {person.city}".strip(", ")


def issue_code(*, person: Person, purpose: str, delivery: str, target: str) -> OneTimeCode:
    """Create a 6-digit code for the person and send it; only its hash is stored."""
    now = timezone.now()
    recent = OneTimeCode.objects.filter(
        person=person, purpose=purpose, created_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= MAX_CODES_PER_HOUR:
        raise Forbidden(
            _("too many codes were requested in the last hour; try again later"), code="too_many_codes"
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge = secrets.token_urlsafe(24)
    lifetime = LETTER_CODE_LIFETIME if delivery == CodeDelivery.LETTER else CODE_LIFETIME
    with transaction.atomic():
        otc = OneTimeCode.objects.create(
            person=person,
            purpose=purpose,
            delivery=delivery,
            challenge=challenge,
            code_hash=_hash_code(challenge, code),
            target=target,
            created_at=now,
            expires_at=now + lifetime,
        )
        _send_code(otc, code)
    return otc


def _wrong_code() -> InvalidInput:
    return InvalidInput.from_fields({"code": _("wrong or expired code: check it, or ask for a new code")})


def check_code(
    *, challenge: str, code: str, purpose: str, address: str = "", channel: str = ""
) -> OneTimeCode:
    """The unused, unexpired code behind the challenge if `code` matches; each wrong try counts, on the code
    (5 at most) and on the throttle of the client's address. An unknown, expired, used or exhausted challenge
    gets the same answer as a wrong code: the decoy challenge given when a NIR matches nobody (activation,
    password reset) must not be told apart from a real one."""
    fields: dict[str, str] = {}
    if not isinstance(challenge, str) or check_text(fields, "challenge", challenge, 64) is None:
        challenge = ""
    code = (code or "").strip().replace(" ", "") if isinstance(code, str) else ""
    if not (len(code) == 6 and code.isdigit()):
        raise InvalidInput.from_fields({"code": _("the code has 6 digits")})
    throttle.check("code.address", address)
    otc = (
        OneTimeCode.objects.select_related("person").filter(challenge=challenge, purpose=purpose).first()
        if challenge
        else None
    )
    now = timezone.now()
    if otc is None or otc.used_at is not None or otc.expires_at <= now or otc.attempts >= MAX_CODE_ATTEMPTS:
        throttle.hit("code.address", address)
        raise _wrong_code()
    if not hmac.compare_digest(otc.code_hash, _hash_code(challenge, code)):
        OneTimeCode.objects.filter(pk=otc.pk).update(attempts=F("attempts") + 1)
        throttle.hit("code.address", address)
        if purpose == CodePurpose.SECOND_FACTOR:
            user_id = (
                Account.objects.filter(person_id=otc.person_id).values_list("user_id", flat=True).first()
            )
            if user_id is not None:
                from omniguichet.core.models import LoginFailure

                LoginFailure.objects.create(
                    user_id=user_id, at=throttle.now(), channel=channel, factor="code",
                    address=throttle.shown_address(address),
                )  # fmt: skip
        raise _wrong_code()
    return otc


def _consume(otc: OneTimeCode) -> None:
    """Mark the code used (and mask it in the ledger); a concurrent confirmation of the same code loses."""
    now = timezone.now()
    if not OneTimeCode.objects.filter(pk=otc.pk, used_at__isnull=True).update(used_at=now):
        raise InvalidInput.from_fields({"challenge": _("this code was already used")})
    otc.used_at = now
    redact_code_message(otc=otc, now=now)


# --- identity checks -------------------------------------------------------------------------------------------
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


# --- activation ----------------------------------------------------------------------------------------------
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


# --- login ---------------------------------------------------------------------------------------------------
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


# --- password reset ------------------------------------------------------------------------------------------
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


# --- the logged-in person ------------------------------------------------------------------------------------
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


# --- e-mail and phone change (used by the teleservice) -------------------------------------------------------
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


# --- FranceConnect-style login (OpenID Connect) ---------------------------------------------------------------
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


# --- the inbox ------------------------------------------------------------------------------------------------
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


# --- what other apps offer on the account's home page (registered at start-up) ------------------------------
_home_services: list[Callable[..., list[Any]]] = []


def register_home_services(provider: Callable[..., list[Any]]) -> None:
    """provider(actor=, channel=) -> the online services offered to the person (teleservices registers it)."""
    _home_services[:] = [provider]


def home_services(*, actor: Actor, channel: Channel) -> list[Any]:
    return [item for provider in _home_services for item in provider(actor=actor, channel=channel)]
