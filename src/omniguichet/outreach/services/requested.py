"""The person's inbox and the messages a person asked for (one-time codes), sent at once."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.core.text import check_text
from omniguichet.outreach.models import (
    InboxMessage,
    MessageChannel,
    MessageState,
    OutboundMessage,
)
from omniguichet.outreach.services.common import SMS_MAX
from omniguichet.outreach.services.ledger import _enqueue_dispatch
from omniguichet.referential.models import Person


def my_inbox(*, actor: Actor, limit: int = 50) -> list[InboxMessage]:
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves reads this"))
    return list(InboxMessage.objects.filter(person_id=actor.person_id).order_by("-created_at", "-id")[:limit])


ON_REQUEST_CHANNELS = (MessageChannel.SMS, MessageChannel.EMAIL, MessageChannel.LETTER)


def send_on_request(
    *,
    actor: Actor,
    person: Person,
    idempotency_key: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    motive: str = "autre",
    subject_kind: str = "",
    subject_ref: str = "",
) -> OutboundMessage:
    """A message the person asked for a moment ago and is waiting for (a one-time code): ONE channel, to the
    recipient given (the new e-mail or phone being verified is not yet a verified point), due at once. Quiet
    hours, the SMS frequency cap, preferences and consents are not applied: they govern the messages the
    platform starts, and a login code held until 08:00 or dropped for a preference would lock the person out.
    The subject is kept on every channel, so the customer record notes the subject, never the body. Written in
    the caller's transaction (a rollback sends nothing); dispatch starts after commit; a replayed key sends
    nothing more."""
    if actor.kind == ActorKind.INSURED:
        raise Forbidden(_("only the platform and its staff send messages"))
    fields: dict[str, str] = {}
    key = check_text(fields, "idempotency_key", idempotency_key, 180) or ""
    if not key.strip():
        fields.setdefault("idempotency_key", _("is required"))
    if channel not in ON_REQUEST_CHANNELS:
        fields["channel"] = _("must be one of %(c)s") % {"c": ", ".join(ON_REQUEST_CHANNELS)}
    if check_text(fields, "recipient", recipient, 254) is not None and not recipient.strip():
        fields["recipient"] = _("is required")
    for name, text, limit in (("subject", subject, 200), ("body", body, 20_000)):
        if check_text(fields, name, text, limit) is not None and not text.strip():
            fields[name] = _("is required")
    if channel == MessageChannel.SMS and len(body) > SMS_MAX:
        fields["body"] = _("at most %(n)d characters") % {"n": SMS_MAX}
    from omniguichet.crm.models import Motive

    if not Motive.objects.filter(pk=str(motive)[:40], active=True).exists():
        fields["motive"] = _("unknown motive")
    if fields:
        raise InvalidInput.from_fields(fields)
    now = timezone.now()
    with transaction.atomic():
        message, _created = OutboundMessage.objects.get_or_create(
            idempotency_key=f"request:{key}:{channel}",
            defaults={
                "person": person, "channel": channel, "recipient": recipient, "subject": subject, "body": body,
                "not_before": now, "motive": motive, "subject_kind": subject_kind,
                "subject_ref": str(subject_ref), "created_at": now,
            },
        )  # fmt: skip
    transaction.on_commit(_enqueue_dispatch)
    return message


def redact_messages(*, idempotency_keys: Iterable[str], body: str, expire_queued: bool = False) -> int:
    """Replace the body of these messages once it served (a one-time code sent, used or expired): the ledger
    keeps that a message went, not what it said. With `expire_queued`, a message still queued is failed
    instead of being sent (an expired code is no use to anyone); otherwise a queued one is left as it is.
    Returns how many messages were redacted."""
    keys = list(idempotency_keys)
    done = OutboundMessage.objects.filter(idempotency_key__in=keys).exclude(body=body)
    count = done.exclude(state=MessageState.QUEUED).update(body=body, claimed_until=None)
    if expire_queued:
        count += done.filter(state=MessageState.QUEUED).update(
            body=body, state=MessageState.FAILED, last_error="expired before it was sent", claimed_until=None
        )
    return count
