"""Writing the ledger: planned messages placed under the policy, quiet hours and cap, written once by key; the
periodic jobs other apps register; the dispatch asked of the worker after commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.db import bulk_insert_rows, values_subquery
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.core.text import check_text
from omniguichet.outreach.models import (
    CapPolicy,
    MessageChannel,
    MessageState,
    MessageTemplate,
    OutboundKey,
    OutboundMessage,
    parse_policy,
)
from omniguichet.outreach.services.cap import _planned, daily_caps, outside_quiet_hours, schedule
from omniguichet.outreach.services.common import DEFAULT_POLICY, SMS_MAX
from omniguichet.outreach.services.policy import choose_channels, load_reach
from omniguichet.outreach.templating import (
    placeholders,
    render,
)
from omniguichet.referential.models import Person


@dataclass
class Planned:
    """A message to write in the ledger: one per channel chosen."""

    key: str
    person: Person
    subject: str
    body: str
    sms_body: str
    at: dt.datetime
    rule: str = ""
    motive: str = "autre"
    subject_kind: str = ""
    subject_ref: str = ""
    policy: str = DEFAULT_POLICY
    mergeable: bool = (
        True  # beyond the frequency cap: merged into a digest when released (else only deferred)
    )


LEDGER_COLUMNS = [
    "idempotency_key", "person_id", "channel", "recipient", "subject", "body", "state", "not_before", "attempts",
    "last_error", "provider_ref", "rule", "motive", "subject_kind", "subject_ref", "created_at", "capped",
    "quiet_hours", "cap_policy",
]  # fmt: skip


def write_ledger(planned: Sequence[Planned], *, now: dt.datetime | None = None) -> int:
    """Choose the channels of each planned message, schedule SMS, and write the messages with their keys
    (a key already in the ledger is left as it is: replays write nothing). Dispatch starts after commit.
    Returns how many messages were planned (new or already there)."""
    if not planned:
        return 0
    now = now or timezone.now()
    reach = load_reach({p.person.pk: p.person for p in planned}.values())
    earliest = min(min(p.at for p in planned), now)
    times = _planned({p.person.pk for p in planned}, earliest - dt.timedelta(hours=26))
    capped_channels = {c for c, cap in daily_caps().items() if cap}
    adapt = connection.ops.adapt_datetimefield_value
    created = adapt(now)
    rows: dict[str, tuple] = {}
    for item in sorted(planned, key=lambda p: p.at):
        person_reach = reach[item.person.pk]
        for channel in choose_channels(person_reach, item.policy):
            short = channel in (MessageChannel.SMS, MessageChannel.PUSH)
            at, capped = item.at, False
            policy = CapPolicy.MERGE if item.mergeable else CapPolicy.DEFER
            if channel in capped_channels or channel == MessageChannel.SMS:
                at = schedule(channel, item.at, times[item.person.pk, channel])
                quiet = outside_quiet_hours(item.at) if channel == MessageChannel.SMS else item.at
                capped = item.mergeable and at != quiet  # deferred by the cap, not only by the quiet hours
            key = f"{item.key}:{channel}"[:200]
            rows[key] = (
                key, item.person.pk, channel, person_reach.recipient(channel)[:254],
                "" if short else item.subject[:200], item.sms_body if short else item.body, MessageState.QUEUED,
                adapt(at), 0, "", "", item.rule, item.motive, item.subject_kind, item.subject_ref, created, capped,
                channel == MessageChannel.SMS, policy,
            )  # fmt: skip
    if not rows:
        return 0
    for attempt in range(3):
        already = _keys_in_ledger(list(rows))
        fresh = [row for key, row in rows.items() if key not in already]
        try:
            with (
                transaction.atomic()
            ):  # a savepoint: a concurrent writer of the same keys costs one more round
                bulk_insert_rows(OutboundMessage, LEDGER_COLUMNS, fresh)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    transaction.on_commit(_enqueue_dispatch)
    return len(rows)


def _keys_in_ledger(keys: list[str]) -> set[str]:
    """Which of these idempotency keys the ledger holds. On PostgreSQL the key table OutboundKey answers (the
    ledger is partitioned by month: a key alone cannot find its month); on SQLite the ledger's own unique key."""
    model: type[OutboundKey] | type[OutboundMessage] = (
        OutboundKey if connection.vendor == "postgresql" else OutboundMessage
    )
    return set(
        model.objects.filter(idempotency_key__in=values_subquery(keys, of="text")).values_list(
            "idempotency_key", flat=True
        )
    )


# How a write of the ledger asks the worker to dispatch: set at start-up (outreach.apps) to enqueue the task of
# outreach.tasks, which imports these services (never the reverse).
_dispatch_scheduler: list[Callable[[], None]] = []


def register_dispatch_scheduler(schedule: Callable[[], None]) -> None:
    _dispatch_scheduler[:] = [schedule]


def _enqueue_dispatch() -> None:
    for ask in _dispatch_scheduler:
        ask()


def send_to_person(
    *,
    actor: Actor,
    person: Person,
    idempotency_key: str,
    template_code: str = "",
    subject: str = "",
    body: str = "",
    sms_body: str = "",
    context: dict[str, str] | None = None,
    channel_policy: str = DEFAULT_POLICY,
    subject_kind: str = "",
    subject_ref: str = "",
    motive: str = "autre",
    at: dt.datetime | None = None,
    mergeable: bool = True,
) -> list[OutboundMessage]:
    """Send something to a person, on the channels the policy and the person allow. Give a template code (with
    its context) or the subject and body (and a short text for SMS and push; default: the subject). The same
    idempotency key twice sends nothing more. Returns the messages of this key in the ledger.

    Beyond the SMS frequency cap a message is deferred, then merged with the person's other deferred SMS into
    one digest when released; `mergeable=False` keeps it whole (deferred only): for a text that must arrive
    alone (a security code)."""
    if actor.kind == ActorKind.INSURED:
        raise Forbidden(_("only the platform and its staff send messages"))
    fields: dict[str, str] = {}
    key = check_text(fields, "idempotency_key", idempotency_key, 180) or ""
    if not key.strip():
        fields.setdefault("idempotency_key", _("is required"))
    try:
        parse_policy(channel_policy)
    except ValueError as exc:
        fields["channel_policy"] = str(exc)
    if template_code:
        template = MessageTemplate.objects.filter(code=template_code).first()
        if template is None:
            fields["template_code"] = _("unknown template")
        else:
            subject, body, sms_body = template.subject, template.body, template.sms_body
            missing = {
                n for t in (subject, body, sms_body) for n in placeholders(t)
            } - set(context or {})  # fmt: skip
            if missing:
                fields["context"] = _("missing variables: %(n)s") % {"n": ", ".join(sorted(missing))}
    else:
        for name, text, limit in (("subject", subject, 200), ("body", body, 20_000)):
            if check_text(fields, name, text, limit) is not None and not text.strip():
                fields[name] = _("is required")
        sms_body = sms_body or subject
    from omniguichet.crm.models import Motive

    if not Motive.objects.filter(pk=str(motive)[:40], active=True).exists():
        fields["motive"] = _("unknown motive")
    if len(sms_body) > SMS_MAX:
        fields["sms_body"] = _("at most %(n)d characters") % {"n": SMS_MAX}
    if fields:
        raise InvalidInput.from_fields(fields)
    ctx = {k: str(v) for k, v in (context or {}).items()}
    ctx.update(_person_context(person))
    with transaction.atomic():
        write_ledger([
            Planned(key=f"send:{key}", person=person, subject=render(subject, ctx), body=render(body, ctx),
                    sms_body=render(sms_body, ctx), at=at or timezone.now(), motive=motive,
                    subject_kind=subject_kind, subject_ref=str(subject_ref), policy=channel_policy,
                    mergeable=mergeable)
        ])  # fmt: skip
    return list(OutboundMessage.objects.filter(idempotency_key__startswith=f"send:{key}:").order_by("id"))


def _person_context(person: Person) -> dict[str, str]:
    last = person.usage_name or person.family_name
    first = person.given_names.split(" ")[0] if person.given_names else ""
    return {"first_name": first, "last_name": last, "full_name": f"{first} {last}".strip()}


def caisse_names() -> dict[str, str]:
    """Caisse code -> name, read once a minute at most (101 rows that almost never change)."""
    from django.core.cache import cache

    from omniguichet.referential.models import Caisse

    names = cache.get("outreach:caisse-names")
    if names is None:
        names = dict(Caisse.objects.values_list("code", "name"))
        cache.set("outreach:caisse-names", names, 60)
    return names


def person_context(person: Person) -> dict[str, str]:
    """The person's variables of every message (first_name, last_name, full_name)."""
    return _person_context(person)


_periodic_jobs: list[Callable[[], int]] = []


def register_periodic_job(job: Callable[[], int]) -> None:
    """A job the ledger's sweep runs every OUTREACH_SWEEP_SECONDS before dispatching (e.g. cases' document
    reminders); it returns how many messages it wrote."""
    if job not in _periodic_jobs:
        _periodic_jobs.append(job)


def run_periodic_jobs() -> int:
    return sum(job() for job in list(_periodic_jobs))
