"""Dispatch: claiming due messages (the cap checked again at claim time), sending through the providers, retries,
digests of merged messages, and the contacts sent messages leave in the customer record."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.db import values_subquery
from omniguichet.outreach.models import (
    CapPolicy,
    MessageChannel,
    MessageState,
    OutboundMessage,
)
from omniguichet.outreach.services.cap import daily_caps, in_quiet_hours, next_send_time
from omniguichet.outreach.services.common import CONTACT_CHANNEL, CONTACT_SOURCE, SMS_MAX, _setting, log
from omniguichet.outreach.services.providers import SendOutcome, provider_for
from omniguichet.referential.models import Person


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0  # due, but moved later by the frequency cap

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.held += other.held


def backoff(attempts: int) -> dt.timedelta:
    base = _setting("OUTREACH_RETRY_BASE_SECONDS", 60)
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def _claimable(now: dt.datetime) -> Q:
    """Queued, due, not held by a live dispatcher; and no SMS of the platform during the quiet hours (one that
    became due at 19:59 but finds the dispatcher only at 20:01, after a retry or a stopped worker, waits for
    08:00; a message the person asked for and waits for, a one-time code, goes)."""
    condition = Q(state=MessageState.QUEUED, not_before__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    if in_quiet_hours(now):
        condition &= ~Q(channel=MessageChannel.SMS, quiet_hours=True)
    return condition


def merge_released(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Merge the capped messages that are due with the other capped messages still pending for the same person
    and channel, into one digest per person and channel (written in the ledger like any message; each merged
    message gets state `merged` and points to its digest). Idempotent: a merged message is no longer queued, and
    the digest's key comes from its first member. Returns how many digests were written."""
    now = now or timezone.now()
    with transaction.atomic():
        released = set(
            OutboundMessage.objects.filter(_claimable(now), capped=True)
            .order_by("not_before")
            .values_list("person_id", "channel")[:limit]
        )
        if not released:
            return 0
        persons = {person_id for person_id, _channel in released}
        pending = (
            OutboundMessage.objects.filter(
                person_id__in=values_subquery(persons, of="bigint"), state=MessageState.QUEUED, capped=True
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("person_id", "channel", "not_before", "id")
            .select_for_update(skip_locked=True)
        )
        groups: dict[tuple[int, str], list[OutboundMessage]] = defaultdict(list)
        for message in pending:
            if (message.person_id, message.channel) in released:
                groups[message.person_id, message.channel].append(message)
        digests: list[tuple[OutboundMessage, list[OutboundMessage]]] = []
        for messages in groups.values():
            # What does not fit in one digest stays deferred; if it is due too, it starts the next digest.
            while messages and messages[0].not_before <= now:
                members = _digest_members(messages)
                if len(members) < 2:
                    break
                digests.append((_digest(members, now), members))
                messages = messages[len(members) :]
        if not digests:
            return 0
        OutboundMessage.objects.bulk_create([digest for digest, _members in digests])
        merged: list[OutboundMessage] = []
        for digest, members in digests:
            for member in members:
                member.state, member.merged_into_id = MessageState.MERGED, digest.pk
                merged.append(member)
        OutboundMessage.objects.bulk_update(merged, ["state", "merged_into"])
    return len(digests)


def _digest_text(messages: list[OutboundMessage]) -> str:
    header = ngettext("%(n)d message grouped together:", "%(n)d messages grouped together:", len(messages))
    return "\n".join([header % {"n": len(messages)}, *(m.body.strip() for m in messages)])


def _digest_members(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """The first messages (in their order) whose digest fits in one text of the channel; the others stay
    deferred and are merged at their own release."""
    if messages[0].channel not in (MessageChannel.SMS, MessageChannel.PUSH):
        return messages
    members: list[OutboundMessage] = []
    for message in messages:
        if len(_digest_text([*members, message])) > SMS_MAX:
            break
        members.append(message)
    return members


def _digest(members: list[OutboundMessage], now: dt.datetime) -> OutboundMessage:
    first = members[0]
    short = first.channel in (MessageChannel.SMS, MessageChannel.PUSH)
    subject = "" if short else _("%(n)d messages from your health insurance") % {"n": len(members)}
    body = _digest_text(members) if short else "\n\n".join(
        f"{m.subject}\n{m.body}".strip() for m in members
    )  # fmt: skip
    return OutboundMessage(
        idempotency_key=f"digest:{first.channel}:{first.pk}", person_id=first.person_id, channel=first.channel,
        recipient=first.recipient, subject=subject[:200], body=body, state=MessageState.QUEUED,
        not_before=first.not_before, rule="digest", motive=first.motive, created_at=now,
        quiet_hours=first.quiet_hours, cap_policy=CapPolicy.DEFER,
    )  # fmt: skip


def _claim(limit: int, now: dt.datetime) -> tuple[list[OutboundMessage], int]:
    """Take the due messages for this dispatcher (a lease), after checking each one's place under its channel's
    cap at this moment, its real send time: those that would break it get a later time instead (and join the
    next digest when they may be merged), in the same transaction. Returns the messages taken and how many were
    held back."""
    lease = dt.timedelta(seconds=_setting("OUTREACH_CLAIM_SECONDS", 60))
    with transaction.atomic():
        due = list(
            OutboundMessage.objects.filter(_claimable(now))
            .order_by("not_before")
            .select_for_update(skip_locked=True)
            .values_list("pk", "person_id", "channel", "cap_policy", "quiet_hours", "capped", "not_before")[
                :limit
            ]
        )
        if not due:
            return [], 0
        held = _hold_to_cap(due, now)
        by_change: dict[tuple[dt.datetime, bool], list[int]] = defaultdict(list)
        for pk, change in held.items():
            by_change[change].append(pk)
        for (not_before, capped), pks in by_change.items():
            OutboundMessage.objects.filter(pk__in=values_subquery(pks, of="bigint")).update(
                not_before=not_before, capped=capped
            )
        ids = [row[0] for row in due if row[0] not in held]
        if ids:
            OutboundMessage.objects.filter(pk__in=values_subquery(ids, of="bigint")).update(
                claimed_until=now + lease, attempts=F("attempts") + 1
            )
    if not ids:
        return [], len(held)
    return list(OutboundMessage.objects.filter(pk__in=values_subquery(ids, of="bigint"))), len(held)


def _hold_to_cap(due: list[tuple], now: dt.datetime) -> dict[int, tuple[dt.datetime, bool]]:
    """Of these due messages (pk, person, channel, cap policy, quiet hours, capped, not before), those that may
    not go now under their channel's cap, with their new time and capped flag. The count is made on what the
    person really got: messages sent (their `sent_at`) and messages in flight with another dispatcher (counted as
    going now), so a message moved by the quiet hours, a retry, a stopped worker or a merge is counted where it
    really lands. The persons' rows are locked (FOR NO KEY UPDATE on PostgreSQL; SQLite writes one transaction at
    a time) so that two dispatchers never both admit the last place of one person."""
    caps = {channel: cap for channel, cap in daily_caps().items() if cap}
    under = sorted(
        (row for row in due if row[2] in caps and row[3] != CapPolicy.EXEMPT),
        key=lambda row: (row[6], row[0]),
    )
    if not under:
        return {}
    persons = sorted({row[1] for row in under})
    list(
        Person.objects.filter(pk__in=values_subquery(persons, of="bigint"))
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )
    since = now - dt.timedelta(hours=26)  # covers the 24 hours and the Paris day (25 hours at most)
    went: dict[tuple[int, str], list[dt.datetime]] = defaultdict(list)
    for person_id, channel, sent_at in (
        OutboundMessage.objects.filter(
            person_id__in=values_subquery(persons, of="bigint"), channel__in=list(caps)
        )
        .filter(Q(sent_at__gt=since) | Q(state=MessageState.QUEUED, claimed_until__gte=now))
        .values_list("person_id", "channel", "sent_at")
    ):
        went[person_id, channel].append(sent_at or now)
    for _pk, person_id, channel, policy, *_rest in due:  # a code the person asked for goes now, and counts
        if channel in caps and policy == CapPolicy.EXEMPT:
            went[person_id, channel].append(now)
    held: dict[int, tuple[dt.datetime, bool]] = {}
    for pk, person_id, channel, policy, quiet, capped, _not_before in under:
        times = went[person_id, channel]
        at = next_send_time(channel, now, times, quiet=quiet)
        if at <= now:
            times.append(now)
        else:
            held[pk] = (at, capped or policy == CapPolicy.MERGE)
    return held


def dispatch_due(*, limit: int = 500, now: dt.datetime | None = None) -> DispatchReport:
    """Send one batch of due messages (claimed first, so that two dispatchers never take the same ones)."""
    from omniguichet.core.db import update_rows

    simulated = now is not None  # a caller's clock (tests, simulations): the send times follow it too
    now = now or timezone.now()
    merge_released(now=now, limit=limit)
    messages, held = _claim(limit, now)
    report = DispatchReport(held=held)
    if not messages:
        return report
    by_channel: dict[str, list[OutboundMessage]] = defaultdict(list)
    for m in messages:
        by_channel[m.channel].append(m)
    outcomes: dict[int, SendOutcome] = {}
    for channel, group in by_channel.items():
        try:
            outcomes.update(provider_for(channel).send(group))
        except Exception as exc:  # a provider bug must not lose the batch: every message is retried
            log.exception("provider %s failed", channel)
            outcomes.update(
                {m.pk: SendOutcome(False, error=f"{type(exc).__name__}: {exc}"[:500]) for m in group}
            )
    done = now if simulated else timezone.now()
    max_attempts = _setting("OUTREACH_MAX_ATTEMPTS", 6)
    system = Actor.system("outreach")
    with transaction.atomic():
        sent: list[OutboundMessage] = []
        for m in messages:
            outcome = outcomes.get(m.pk) or SendOutcome(False, error="no answer from the provider")
            m.claimed_until = None
            if outcome.ok:
                m.state = MessageState.DELIVERED if outcome.delivered else MessageState.SENT
                m.sent_at = done
                m.delivered_at = done if outcome.delivered else None
                m.provider_ref = outcome.provider_ref[:200]
                m.last_error = ""
                sent.append(m)
            elif outcome.permanent or m.attempts >= max_attempts:
                m.state = MessageState.FAILED
                m.last_error = outcome.error[:500]
                report.failed += 1
            else:
                m.not_before = done + backoff(m.attempts)
                m.last_error = outcome.error[:500]
                report.retried += 1
        update_rows(
            messages, ["state", "sent_at", "delivered_at", "provider_ref", "last_error", "not_before", "claimed_until"]
        )  # fmt: skip
        _record_sent(system, sent, done)
        report.sent = len(sent)
    return report


def contact_external_id(message: OutboundMessage) -> str:
    return f"msg-{message.pk}"


def _record_sent(actor: Actor, sent: list[OutboundMessage], when: dt.datetime) -> None:
    """One outbound contact per message sent, in the person's record, through the crm's batch writer (one bulk
    insert per batch; idempotent by the message id, so a message sent again after a crash is recorded once)."""
    from omniguichet.crm.services import ingest_contacts

    if not sent:
        return
    started = when.isoformat()
    rows = [
        {"external_id": contact_external_id(m), "person_id": m.person_id, "channel": CONTACT_CHANNEL[m.channel],
         "direction": "outbound", "motive": m.motive, "started_at": started, "note": (m.subject or m.body)[:4000],
         "subject_kind": "message", "subject_ref": m.pk}
        for m in sent
    ]  # fmt: skip
    for result in ingest_contacts(actor=actor, channel=Channel.BACKOFFICE, rows=rows, source=CONTACT_SOURCE):
        if result.status == "rejected":
            log.warning("contact of message %s not recorded: %s", result.external_id, result.errors)


def drain(*, limit: int | None = None, max_batches: int = 1000) -> DispatchReport:
    """Dispatch batches until nothing is due (or max_batches)."""
    limit = limit or _setting("OUTREACH_DISPATCH_BATCH", 1000)
    total = DispatchReport()
    for _batch in range(max_batches):
        report = dispatch_due(limit=limit)
        total.add(report)
        if not (report.sent or report.retried or report.failed or report.held):
            break
    return total
