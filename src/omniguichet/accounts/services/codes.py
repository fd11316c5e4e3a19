"""One-time codes: issued, sent through the outbound ledger (SMS, e-mail or letter), checked (throttled, a few
tries each), consumed, and their message redacted once served."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, CodeDelivery, CodePurpose, OneTimeCode
from omniguichet.accounts.services.common import (
    CODE_LIFETIME,
    LETTER_CODE_LIFETIME,
    MAX_CODE_ATTEMPTS,
    MAX_CODES_PER_HOUR,
)
from omniguichet.core import throttle
from omniguichet.core.actors import Actor
from omniguichet.core.apps import TaskHook
from omniguichet.core.db import keep_on_rollback
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.core.text import check_text
from omniguichet.referential.models import (
    Person,
)

# Every code goes through the outbound message ledger (outreach.services.send_on_request) on the ONE channel it
# was asked for, to the exact target, written in the transaction of the code (a rollback sends nothing) and
# dispatched after commit. The ledger keeps the code only while it is needed: once the message is sent and the
# code used or expired, its body is replaced by the same text with the code masked (see docs/online-account.md).
CODE_MOTIVE = "compte_en_ligne"


CODE_MASK = "••••••"


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
        count_attempt = OneTimeCode.objects.filter(pk=otc.pk).update
        count_attempt(attempts=F("attempts") + 1)
        keep_on_rollback(lambda: count_attempt(attempts=F("attempts") + 1))  # a handler's rollback keeps it
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
