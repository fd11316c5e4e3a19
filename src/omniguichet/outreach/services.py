"""Outbound messages: the ledger (written with an idempotency key before any send), the choice of channels
(consents, preferences, fallback chain), quiet hours and frequency cap for SMS, templates, the dispatcher with
its retries, delivery receipts, and the messages that case events trigger.

Other apps send something to a person through `send_to_person`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import logging
import os
import string
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _

from omniguichet.accounts.models import Account, AccountStatus
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.db import bulk_insert_rows, values_subquery
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.core.text import check_text
from omniguichet.outreach.models import (
    CapPolicy,
    InboxMessage,
    MessageChannel,
    MessageRule,
    MessageState,
    MessageTemplate,
    OutboundMessage,
)
from omniguichet.referential.models import ChannelPreference, Consent, ConsentPurpose, ContactPoint, Person

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_POLICY = "inbox+push>sms>email>letter"
_CHANNELS = frozenset(MessageChannel.values)
# The contact channel a message is recorded on in the customer record.
CONTACT_CHANNEL: dict[str, str] = {
    MessageChannel.INBOX: Channel.WEB,
    MessageChannel.PUSH: Channel.PUSH,
    MessageChannel.SMS: Channel.SMS,
    MessageChannel.EMAIL: Channel.EMAIL,
    MessageChannel.LETTER: Channel.LETTER,
}
SMS_MAX = 480
CONTACT_SOURCE = "outreach"  # the contacts of sent messages: external_id "msg-<message id>"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# --- channel policy ----------------------------------------------------------------------------------------
def parse_policy(policy: str) -> list[list[str]]:
    """ "inbox+push>sms>email>letter" -> [["inbox", "push"], ["sms"], ["email"], ["letter"]]."""
    return [list(step) for step in _parsed_policy(policy)]


@functools.lru_cache(maxsize=256)
def _parsed_policy(policy: str) -> tuple[tuple[str, ...], ...]:
    """parse_policy, once per policy text (a batch chooses channels for tens of thousands of messages)."""
    steps: list[list[str]] = []
    seen: set[str] = set()
    for raw_step in policy.split(">"):
        step = [c.strip() for c in raw_step.split("+")]
        for channel in step:
            if channel not in _CHANNELS:
                raise ValueError(
                    _("unknown channel %(c)r (one of %(all)s)") % {"c": channel, "all": ", ".join(_CHANNELS)}
                )
            if channel in seen:
                raise ValueError(_("channel %(c)s appears twice") % {"c": channel})
            seen.add(channel)
        steps.append(step)
    return tuple(tuple(step) for step in steps)


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
    for person_id, user_id in Account.objects.filter(
        person_id__in=values_subquery(ids, of="bigint"), status=AccountStatus.ACTIVE
    ).values_list("person_id", "user_id"):
        reach[person_id].account = True
        reach[person_id].app = user_id is not None
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


# --- quiet hours and frequency cap -------------------------------------------------------------------------
def sms_quiet_hours() -> tuple[int, int]:
    return _setting("OUTREACH_SMS_QUIET_FROM", 20), _setting("OUTREACH_SMS_QUIET_UNTIL", 8)


def outside_quiet_hours(at: dt.datetime) -> dt.datetime:
    """The first moment at or after `at` when an SMS may go: never from 20:00 to 08:00, Paris time (deferred to
    08:00, never dropped). Computed in local time, so the DST changes are right."""
    if not in_quiet_hours(at):
        return at
    _start, end = sms_quiet_hours()
    local = at.astimezone(PARIS)
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    if end >= 24:  # quiet until midnight (a setting of "quiet all day" ends nowhere: the next midnight)
        day, end = day + dt.timedelta(days=1), 0
    return dt.datetime.combine(day, dt.time(end), tzinfo=PARIS)


def in_quiet_hours(at: dt.datetime) -> bool:
    start, end = sms_quiet_hours()
    return not (end <= at.astimezone(PARIS).hour < start)


def daily_caps() -> dict[str, int]:
    """How many messages a person may get on a channel in any 24 hours: OUTREACH_SMS_DAILY_CAP for SMS (3), and
    OUTREACH_DAILY_CAPS for any channel ({"push": 5}; environment "push=5,email=10"); others have no cap."""
    return {MessageChannel.SMS: _setting("OUTREACH_SMS_DAILY_CAP", 3), **_setting("OUTREACH_DAILY_CAPS", {})}


DAY = dt.timedelta(hours=24)


def _paris_midnight(at: dt.datetime, days: int = 0) -> dt.datetime:
    """Midnight (Paris time) starting the calendar day of `at`, or `days` later (23, 24 or 25 hours a day)."""
    return dt.datetime.combine(
        at.astimezone(PARIS).date() + dt.timedelta(days=days), dt.time(0), tzinfo=PARIS
    )


def next_send_time(
    channel: str, at: dt.datetime, sent: Sequence[dt.datetime], *, quiet: bool = True
) -> dt.datetime:
    """The first moment at or after `at` when one more message of this channel may go to a person whose other
    messages go (or went) at the times `sent`: for an SMS held by the quiet hours (`quiet`), outside them; and
    fewer than the channel's cap both in the 24 hours ending then and in that Paris calendar day. The rule in
    full, with its edge cases: docs/cases-and-messages.md, "Quiet hours and frequency cap"."""
    hold = outside_quiet_hours if (channel == MessageChannel.SMS and quiet) else (lambda t: t)
    cap = daily_caps().get(channel)
    t = hold(at)
    for _round in range(100):
        if not cap:
            break
        window = sorted(x for x in sent if t - DAY < x <= t)
        if len(window) >= cap:  # wait until the oldest of the last `cap` leaves the 24 hours
            t = hold(window[len(window) - cap] + DAY)
            continue
        midnight = _paris_midnight(t)
        if sum(1 for x in sent if midnight <= x <= t) >= cap:  # the day is full: the next one
            t = hold(_paris_midnight(t, days=1))
            continue
        break
    return t


def schedule(channel: str, at: dt.datetime, planned: list[dt.datetime]) -> dt.datetime:
    """When a message of this channel planned at `at` is expected to go, given the person's other messages of
    the channel (`planned`, their send times or expected send times; updated in place). A forecast: the cap is
    enforced again on the real send times when the dispatcher claims the message (`_hold_to_cap`)."""
    t = next_send_time(channel, at, planned)
    planned.append(t)
    planned.sort()
    return t


def schedule_sms(at: dt.datetime, planned: list[dt.datetime]) -> dt.datetime:
    return schedule(MessageChannel.SMS, at, planned)


def _planned(person_ids: Iterable[int], since: dt.datetime) -> dict[tuple[int, str], list[dt.datetime]]:
    """The send times of the persons' messages on the capped channels since then, by (person, channel): when a
    message went (not the time it was planned for, which the quiet hours, a retry or a stopped worker may have
    moved), or, for one still queued, its planned time."""
    planned: dict[tuple[int, str], list[dt.datetime]] = defaultdict(list)
    ids = list(person_ids)
    channels = [c for c, cap in daily_caps().items() if cap]
    if not ids or not channels:
        return planned
    rows = (
        OutboundMessage.objects.filter(person_id__in=values_subquery(ids, of="bigint"), channel__in=channels)
        .filter(Q(sent_at__gt=since) | Q(sent_at__isnull=True, not_before__gt=since))
        .exclude(state__in=[MessageState.FAILED, MessageState.MERGED])
        .values_list("person_id", "channel", "not_before", "sent_at")
    )
    for person_id, channel, not_before, sent_at in rows:
        planned[person_id, channel].append(sent_at or not_before)
    for times in planned.values():
        times.sort()
    return planned


# --- templates ---------------------------------------------------------------------------------------------
PERSON_VARIABLES = frozenset({"first_name", "last_name", "full_name"})
CASE_VARIABLES = frozenset({"case_reference", "case_type", "caisse_name", "expected_decision_on"})
EVENT_VARIABLES: dict[str, frozenset[str]] = {
    "opened": frozenset(),
    "document_missing": frozenset({"document_label", "due_on", "deposit_url"}),
    "document_received": frozenset({"document_label"}),
    "expected_date_changed": frozenset(),
    "decision": frozenset({"outcome", "reason"}),
    "payment": frozenset({"amount", "paid_on", "period_from", "period_to"}),
    "card_shipped": frozenset({"card"}),
    "closed": frozenset({"reason"}),
}


def template_variables(event_type: str) -> frozenset[str]:
    if not event_type:
        return PERSON_VARIABLES
    return PERSON_VARIABLES | CASE_VARIABLES | EVENT_VARIABLES.get(event_type, frozenset())


def placeholders(text: str) -> list[str]:
    """The names a template text refers to; ValueError for a malformed one ({x.y}, {x!r}, {x:>3}, "{")."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(_("{%(n)s} is not a plain variable like {first_name}") % {"n": name})
        names.append(name)
    return names


def check_template(event_type: str, *, subject: str, body: str, sms_body: str) -> dict[str, str]:
    """Reasons, by field, why these texts cannot be sent for this event type (empty when they can)."""
    if event_type and event_type not in EVENT_VARIABLES:
        return {"event_type": _("unknown event type")}
    allowed = template_variables(event_type)
    errors: dict[str, str] = {}
    for name, text in (("subject", subject), ("body", body), ("sms_body", sms_body)):
        try:
            missing = sorted(set(placeholders(text or "")) - allowed)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if missing:
            errors[name] = _("unknown variables %(names)s (available: %(all)s)") % {
                "names": ", ".join(f"{{{m}}}" for m in missing),
                "all": ", ".join(sorted(allowed)),
            }
    return errors


def render(text: str, context: dict[str, str]) -> str:
    return text.format_map(defaultdict(str, context))


# --- the ledger --------------------------------------------------------------------------------------------
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
    already = set(
        OutboundMessage.objects.filter(idempotency_key__in=values_subquery(rows, of="text")).values_list(
            "idempotency_key", flat=True
        )
    )
    fresh = [row for key, row in rows.items() if key not in already]
    try:
        with (
            transaction.atomic()
        ):  # a savepoint: a concurrent writer of the same keys only costs a slower path
            bulk_insert_rows(OutboundMessage, LEDGER_COLUMNS, fresh)
    except IntegrityError:
        OutboundMessage.objects.bulk_create(
            [OutboundMessage(**dict(zip(LEDGER_COLUMNS, row, strict=True))) for row in fresh],
            ignore_conflicts=True,
        )
    transaction.on_commit(_enqueue_dispatch)
    return len(rows)


def _enqueue_dispatch() -> None:
    from omniguichet.outreach.tasks import dispatch_messages

    dispatch_messages.enqueue()


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


# --- rules: messages triggered by case events --------------------------------------------------------------
def deposit_url(reference: str, document: str) -> str:
    base = _setting("OUTREACH_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/compte/dossiers/{reference}/pieces/{document}"


def _case_type_label(case_type: str) -> str:
    return _case_type_label_in(case_type, get_language() or "")


@functools.lru_cache(maxsize=256)
def _case_type_label_in(case_type: str, language: str) -> str:
    from omniguichet.cases.models import CaseType

    return str(CaseType(case_type).label) if case_type in CaseType.values else case_type


def caisse_names() -> dict[str, str]:
    """Caisse code -> name, read once a minute at most (101 rows that almost never change)."""
    from django.core.cache import cache

    from omniguichet.referential.models import Caisse

    names = cache.get("outreach:caisse-names")
    if names is None:
        names = dict(Caisse.objects.values_list("code", "name"))
        cache.set("outreach:caisse-names", names, 60)
    return names


def event_context(event: Any, case: Any, *, names: dict[str, str] | None = None) -> dict[str, str]:
    """The variables of a message about this event of this case (`names`: caisse_names(), read once a batch)."""
    from omniguichet.core.formatting import french_amount, french_date

    payload = event.payload
    ctx = _person_context(case.person)
    ctx.update({
        "case_reference": case.reference,
        "case_type": _case_type_label(case.case_type),
        "caisse_name": (caisse_names() if names is None else names).get(case.caisse_id, case.caisse_id),
        "expected_decision_on": french_date(case.expected_decision_on),
    })  # fmt: skip
    if "document" in payload:
        ctx["document_label"] = payload.get("label") or payload["document"]
        ctx["deposit_url"] = deposit_url(case.reference, payload["document"])
    if payload.get("due_on"):
        ctx["due_on"] = french_date(payload["due_on"])
    if "amount" in payload:
        ctx["amount"] = french_amount(payload["amount"])
        ctx["paid_on"] = french_date(payload.get("paid_on") or event.occurred_at)
        ctx["period_from"] = french_date(payload.get("period_from"))
        ctx["period_to"] = french_date(payload.get("period_to"))
    if "outcome" in payload:
        accepted = payload["outcome"] == "accepted"
        ctx["outcome"] = (
            pgettext("a request was", "accepted") if accepted else pgettext("a request was", "refused")
        )
    if "reason" in payload:
        ctx["reason"] = payload["reason"]
    if event.event_type == "card_shipped":
        card = payload.get("card") or case.case_type
        ctx["card"] = _("European health insurance card") if card == "european_card" else _("Vitale card")
    return ctx


def _rule_matches(rule: MessageRule, event: Any, case: Any) -> bool:
    types = rule.case_type_list
    if types and case.case_type not in types:
        return False
    return all(event.payload.get(k) == v for k, v in (rule.condition or {}).items())


def on_case_events(applied: list[Any]) -> None:
    """The messages that applied case events trigger (called inside the ingestion transaction)."""
    from omniguichet.cases.services import CASE_MOTIVES

    event_types = {item.event.event_type for item in applied}
    rules = list(
        MessageRule.objects.filter(active=True, event_type__in=event_types)
        .select_related("template")
        .order_by("code")
    )
    if not rules:
        return
    by_type: dict[str, list[MessageRule]] = defaultdict(list)
    for rule in rules:
        by_type[rule.event_type].append(rule)
    now = timezone.now()
    horizon = now - dt.timedelta(days=_setting("OUTREACH_MAX_EVENT_AGE_DAYS", 30))
    planned: list[Planned] = []
    names = caisse_names()
    for item in applied:
        event, case = item.event, item.case
        if event.occurred_at < horizon:  # old history replayed: the timeline moves, nobody is messaged
            continue
        for rule in by_type.get(event.event_type, ()):
            if not _rule_matches(rule, event, case):
                continue
            ctx = event_context(event, case, names=names)
            template = rule.template
            planned.append(Planned(
                key=f"rule:{rule.code}:{event.event_id}", person=case.person, subject=render(template.subject, ctx),
                body=render(template.body, ctx), sms_body=render(template.sms_body, ctx), at=now, rule=rule.code,
                motive=CASE_MOTIVES.get(case.case_type, "autre"), subject_kind="case", subject_ref=str(case.pk),
                policy=rule.channel_policy,
            ))  # fmt: skip
    write_ledger(planned, now=now)


def send_document_reminders(*, now: dt.datetime | None = None, limit: int = 2000) -> int:
    """Remind the persons whose requested document has not arrived N days after the request (the rules with a
    reminder). Each document is reminded once; returns how many documents were reminded."""
    from omniguichet.cases.models import CaseStatus, RequestedDocument
    from omniguichet.cases.services import CASE_MOTIVES

    now = now or timezone.now()
    total = 0
    rules = MessageRule.objects.filter(
        active=True, event_type="document_missing", reminder_after_days__isnull=False
    ).select_related("reminder_template")
    for rule in rules:
        assert rule.reminder_after_days is not None and rule.reminder_template is not None
        docs_qs = RequestedDocument.objects.filter(
            received_at__isnull=True, reminded_at__isnull=True,
            requested_at__lte=now - dt.timedelta(days=rule.reminder_after_days),
            case__status=CaseStatus.WAITING_DOCUMENTS,
        ).select_related("case", "case__person")  # fmt: skip
        if rule.case_type_list:
            docs_qs = docs_qs.filter(case__case_type__in=rule.case_type_list)
        with transaction.atomic():
            docs = list(docs_qs.order_by("requested_at")[:limit])
            planned = []
            for doc in docs:
                case = doc.case
                fake_event = _ReminderEvent(
                    payload={
                        "document": doc.code,
                        "label": doc.label,
                        **({"due_on": doc.due_on.isoformat()} if doc.due_on else {}),
                    }
                )
                ctx = event_context(fake_event, case)
                template = rule.reminder_template
                planned.append(Planned(
                    key=f"reminder:{rule.code}:{doc.pk}:{doc.requested_at.isoformat()}", person=case.person,
                    subject=render(template.subject, ctx), body=render(template.body, ctx),
                    sms_body=render(template.sms_body, ctx), at=now, rule=rule.code,
                    motive=CASE_MOTIVES.get(case.case_type, "autre"), subject_kind="case", subject_ref=str(case.pk),
                    policy=rule.channel_policy,
                ))  # fmt: skip
            write_ledger(planned, now=now)
            RequestedDocument.objects.filter(pk__in=[d.pk for d in docs]).update(reminded_at=now)
        total += len(docs)
    return total


@dataclass
class _ReminderEvent:
    payload: dict[str, Any]
    event_type: str = "document_missing"
    event_id: str = ""
    occurred_at: dt.datetime = field(default_factory=timezone.now)


# --- providers ---------------------------------------------------------------------------------------------
@dataclass
class SendOutcome:
    ok: bool
    provider_ref: str = ""
    error: str = ""
    permanent: bool = False  # a failure that no retry will fix (refused address...)
    delivered: bool = False  # the provider confirms delivery at once (the account inbox)


class Provider(Protocol):
    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]: ...


class InboxProvider:
    """The account inbox: the message is in the person's account at once (delivered)."""

    COLUMNS = ("person_id", "idempotency_key", "subject", "body", "created_at", "subject_kind", "subject_ref")

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        keys = [m.idempotency_key for m in messages]
        there = set(
            InboxMessage.objects.filter(idempotency_key__in=values_subquery(keys, of="text")).values_list(
                "idempotency_key", flat=True
            )
        )  # sent before a crash: already in the account
        rows = [
            (
                m.person_id,
                m.idempotency_key,
                m.subject or m.body[:200],
                m.body,
                now,
                m.subject_kind,
                m.subject_ref,
            )
            for m in messages
            if m.idempotency_key not in there
        ]
        try:
            with (
                transaction.atomic()
            ):  # a savepoint: another dispatcher writing the same keys costs a slower path
                bulk_insert_rows(InboxMessage, self.COLUMNS, rows)
        except IntegrityError:
            InboxMessage.objects.bulk_create(
                [InboxMessage(**dict(zip(self.COLUMNS, row, strict=True))) for row in rows],
                ignore_conflicts=True,
            )
        return {m.pk: SendOutcome(True, m.idempotency_key, delivered=True) for m in messages}


def outbox_dir() -> Path:
    return Path(_setting("OUTREACH_OUTBOX_DIR", settings.VAR_DIR / "outbox"))


class FileSink:
    """A JSON-lines file under the var dir standing for a remote provider (SMS and push for the demo, the print
    queue for letters). Like a real provider with an idempotency key, it drops a message whose key it already
    has: the dispatcher may send twice after a crash, the sink keeps one. Safe across processes (file lock)."""

    _known: dict[Path, tuple[int, set[str]]] = {}

    def __init__(self, name: str) -> None:
        self.path = outbox_dir() / f"{name}.jsonl"

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                keys = self._keys(handle)
                lines = []
                for m in messages:
                    if m.idempotency_key in keys:
                        continue
                    keys.add(m.idempotency_key)
                    lines.append(json.dumps({
                        "key": m.idempotency_key, "to": m.recipient, "person_id": m.person_id,
                        "subject": m.subject, "text": m.body, "at": timezone.now().isoformat(),
                    }, ensure_ascii=False))  # fmt: skip
                if lines:
                    handle.seek(0, os.SEEK_END)
                    handle.write(("\n".join(lines) + "\n").encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                    self._known[self.path] = (handle.tell(), keys)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return {m.pk: SendOutcome(True, m.idempotency_key) for m in messages}

    def _keys(self, handle: Any) -> set[str]:
        """The keys already in the file (read incrementally); a line torn by a crash is cut off."""
        offset, keys = self._known.get(self.path, (0, set()))
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size < offset:  # the file was replaced
            offset, keys = 0, set()
        handle.seek(offset)
        data = handle.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if line.strip():
                keys.add(json.loads(line)["key"])
        if end < len(data):  # a torn last line (the writer died): drop it, its message will be sent again
            handle.truncate(offset + end)
        self._known[self.path] = (offset + end, keys)
        return keys

    @classmethod
    def forget(cls) -> None:
        cls._known.clear()


EmailAttachment = tuple[str, bytes, str]  # file name, content, MIME type
AttachmentProvider = Callable[[list[OutboundMessage]], dict[int, list[EmailAttachment]]]
_email_attachments: dict[str, AttachmentProvider] = {}


def register_email_attachments(subject_kind: str, provider: AttachmentProvider) -> None:
    """Let the app that owns a kind of subject attach files to its e-mails (e.g. the appointment's .ics). They are
    built when the e-mail is sent, from the subject's state at that moment, and never stored in the ledger.
    `provider(messages)` returns the attachments by message id (one query for all of them)."""
    _email_attachments[subject_kind] = provider


def email_attachments(messages: list[OutboundMessage]) -> dict[int, list[EmailAttachment]]:
    by_kind: dict[str, list[OutboundMessage]] = defaultdict(list)
    for m in messages:
        if m.subject_kind in _email_attachments:
            by_kind[m.subject_kind].append(m)
    found: dict[int, list[EmailAttachment]] = {}
    for kind, group in by_kind.items():
        found.update(_email_attachments[kind](group))
    return found


class SmtpEmailProvider:
    """E-mail through Django's e-mail backend (SMTP in production). The Message-ID comes from the idempotency
    key, so that a message sent twice after a crash is recognisable downstream. Apps may attach files to their
    subjects' e-mails (`register_email_attachments`)."""

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        import smtplib

        outcomes: dict[int, SendOutcome] = {}
        sender = _setting("OUTREACH_EMAIL_FROM", "ne-pas-repondre@omniguichet.example")
        domain = sender.rsplit("@", 1)[-1]
        try:
            connection = mail.get_connection(fail_silently=False)
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            return {m.pk: SendOutcome(False, error=f"smtp: {exc}"[:500]) for m in messages}
        try:
            attachments = email_attachments(messages)
            for m in messages:
                message_id = f"<{m.idempotency_key.replace(':', '.').replace(' ', '')[:150]}@{domain}>"
                email = mail.EmailMessage(
                    subject=m.subject,
                    body=m.body,
                    from_email=sender,
                    to=[m.recipient],
                    connection=connection,
                    headers={"Message-ID": message_id, "X-Idempotency-Key": m.idempotency_key},
                )
                for name, content, mimetype in attachments.get(m.pk, ()):
                    email.attach(name, content, mimetype)
                try:
                    email.send()
                    outcomes[m.pk] = SendOutcome(True, message_id)
                except smtplib.SMTPRecipientsRefused as exc:
                    outcomes[m.pk] = SendOutcome(False, error=f"refused: {exc}"[:500], permanent=True)
                except (OSError, smtplib.SMTPException) as exc:
                    outcomes[m.pk] = SendOutcome(False, error=f"smtp: {exc}"[:500])
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.close()
        return outcomes


class HttpSmsProvider:
    """SMS through an HTTP provider: POST {to, text, reference} with the idempotency key in a header; the
    provider answers {"id": ...}. 4xx: refused for good; 5xx or no answer: retried later."""

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        outcomes: dict[int, SendOutcome] = {}
        for m in messages:
            data = json.dumps({"to": m.recipient, "text": m.body, "reference": m.idempotency_key}).encode()
            request = urllib.request.Request(self.url, data=data, method="POST", headers={
                "Content-Type": "application/json", "Idempotency-Key": m.idempotency_key,
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            })  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.loads(response.read() or b"{}")
                outcomes[m.pk] = SendOutcome(True, str(answer.get("id", m.idempotency_key))[:200])
            except urllib.error.HTTPError as exc:
                outcomes[m.pk] = SendOutcome(False, error=f"http {exc.code}", permanent=400 <= exc.code < 500)
            except (OSError, ValueError) as exc:
                outcomes[m.pk] = SendOutcome(False, error=f"sms provider: {exc}"[:500])
        return outcomes


def provider_for(channel: str) -> Provider:
    if channel == MessageChannel.INBOX:
        return InboxProvider()
    if channel == MessageChannel.EMAIL:
        return SmtpEmailProvider()
    if channel == MessageChannel.SMS and _setting("OUTREACH_SMS_PROVIDER", "file") == "http":
        return HttpSmsProvider(_setting("OUTREACH_SMS_URL", ""), _setting("OUTREACH_SMS_TOKEN", ""))
    return FileSink("letters" if channel == MessageChannel.LETTER else channel)


# --- dispatch ----------------------------------------------------------------------------------------------
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


# --- delivery receipts -------------------------------------------------------------------------------------
RECEIPT_STATES = {
    "delivered": MessageState.DELIVERED,
    "bounced": MessageState.BOUNCED,
    "failed": MessageState.FAILED,
}


@dataclass
class ReceiptResult:
    index: int
    status: str  # updated, unchanged, rejected
    errors: dict[str, str] = field(default_factory=dict)


def check_receipt_actor(actor: Actor) -> None:
    user = actor.user
    if user is None or not (user.is_superuser or user.has_perm("outreach.receive_receipts")):
        raise Forbidden(_("delivery receipts come from message providers"))


def apply_receipts(*, actor: Actor, rows: list[Any]) -> list[ReceiptResult]:
    """Delivery receipts from providers: {"provider_ref" or "idempotency_key", "status": delivered|bounced|
    failed, "at"}. A sent message moves to that state; a receipt received twice changes nothing."""
    from omniguichet.core.text import MAX_BATCH_ROWS as MAX_BATCH

    check_receipt_actor(actor)
    if len(rows) > MAX_BATCH:
        raise InvalidInput.from_fields({"body": _("at most %(max)d receipts per batch") % {"max": MAX_BATCH}})
    results: list[ReceiptResult] = []
    wanted: list[tuple[ReceiptResult, str, str, str, dt.datetime]] = []
    now = timezone.now()
    for index, row in enumerate(rows):
        result = ReceiptResult(index, "rejected")
        results.append(result)
        if not isinstance(row, dict):
            result.errors = {"row": _("must be a JSON object")}
            continue
        ref = row.get("provider_ref") or row.get("idempotency_key")
        kind = "provider_ref" if row.get("provider_ref") else "idempotency_key"
        if not isinstance(ref, str) or not ref or len(ref) > 200 or "\x00" in ref:
            result.errors["provider_ref"] = _("provider_ref or idempotency_key is required")
        if not isinstance(row.get("status"), str) or row["status"] not in RECEIPT_STATES:
            result.errors["status"] = _("must be delivered, bounced or failed")
        at = now
        if row.get("at") is not None:
            from django.utils.dateparse import parse_datetime

            try:
                parsed = parse_datetime(row["at"]) if isinstance(row["at"], str) else None
            except ValueError:
                parsed = None
            if parsed is None or timezone.is_naive(parsed):
                result.errors["at"] = _("is not an ISO 8601 date and time with its offset")
            else:
                at = parsed
        if not result.errors:
            wanted.append((result, kind, ref, RECEIPT_STATES[row["status"]], at))  # type: ignore[arg-type]
    with transaction.atomic():
        refs = {r for _res, kind, r, _s, _a in wanted if kind == "provider_ref"}
        keys = {r for _res, kind, r, _s, _a in wanted if kind == "idempotency_key"}
        found = list(
            OutboundMessage.objects.select_for_update().filter(
                Q(provider_ref__in=refs) | Q(idempotency_key__in=keys)
            )
        )
        by_ref = {m.provider_ref: m for m in found if m.provider_ref}
        by_key = {m.idempotency_key: m for m in found}
        changed: dict[int, OutboundMessage] = {}
        for result, kind, ref, state, at in wanted:
            message = (by_ref if kind == "provider_ref" else by_key).get(ref)
            if message is None:
                result.errors = {kind: _("unknown message")}
                continue
            if message.state == state:
                result.status = "unchanged"
                continue
            if message.state != MessageState.SENT:
                result.errors = {"status": _("the message is %(s)s") % {"s": message.state}}
                continue
            message.state = state
            if state == MessageState.DELIVERED:
                message.delivered_at = at
            else:
                message.last_error = _("the provider reported %(s)s") % {"s": state}
            changed[message.pk] = message
            result.status = "updated"
        OutboundMessage.objects.bulk_update(list(changed.values()), ["state", "delivered_at", "last_error"])
    return results


# --- the person's inbox ------------------------------------------------------------------------------------
def my_inbox(*, actor: Actor, limit: int = 50) -> list[InboxMessage]:
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves reads this"))
    return list(InboxMessage.objects.filter(person_id=actor.person_id).order_by("-created_at", "-id")[:limit])


# --- messages the person asked for (one-time codes; added by the online account, issue 4) -----------------
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
