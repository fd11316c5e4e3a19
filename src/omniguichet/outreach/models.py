"""The outbound message ledger (every message to a person, written before any send), the account inbox, and the
rules and templates that turn case events into messages."""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omniguichet.referential.models import Person


class MessageChannel(models.TextChoices):
    INBOX = "inbox", _("account inbox")
    PUSH = "push", _("push notification")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-mail")
    LETTER = "letter", _("letter")


class MessageState(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")
    BOUNCED = "bounced", _("bounced")
    MERGED = "merged", _("merged into a digest")


class CapPolicy(models.TextChoices):
    """How a message stands under its channel's frequency cap (checked again whenever its send time moves)."""

    MERGE = "merge", _("held by the cap, merged into a digest when released")
    DEFER = "defer", _("held by the cap, sent whole when released")
    EXEMPT = "exempt", _("asked for by the person: never held by the cap (still counted)")


class OutboundMessage(models.Model):
    """One message to one person on one channel. Written (with its idempotency key) before any attempt to send
    it; the dispatcher sends what is queued and due, at least once, and the providers drop what they already
    received with the same key, so that a message is delivered exactly once."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="outbound_messages", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    state = models.CharField(
        _("state"), max_length=12, choices=MessageState.choices, default=MessageState.QUEUED
    )
    # Not sent before this time (quiet hours, frequency cap, retry backoff).
    not_before = models.DateTimeField(_("not before"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # A dispatcher that took the message holds it until then; if it dies, another one takes it after.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=200, blank=True)
    # Deferred by the frequency cap: when released, it is merged with the person's other capped messages of the
    # channel into one digest message (state merged, merged_into the digest).
    capped = models.BooleanField(_("deferred by the frequency cap"), default=False)
    # An SMS the platform starts: never sent during the quiet hours, even when it became due before them. (A
    # message the person is waiting for, a one-time code, is not.)
    quiet_hours = models.BooleanField(_("held during the SMS quiet hours"), default=False)
    cap_policy = models.CharField(
        _("frequency cap"), max_length=6, choices=CapPolicy.choices, default=CapPolicy.EXEMPT
    )
    # No foreign key in the database: the ledger is partitioned by month on PostgreSQL (docs/scale.md), where a
    # foreign key needs a unique id alone. Django's PROTECT still refuses to delete a digest with members.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged",
        verbose_name=_("merged into"), db_index=False, db_constraint=False,
    )  # fmt: skip
    rule = models.CharField(_("rule"), max_length=40, blank=True)
    motive = models.CharField(_("motive"), max_length=40, default="autre")
    subject_kind = models.CharField(_("subject kind"), max_length=12, blank=True)
    subject_ref = models.CharField(_("subject reference"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        indexes = [
            # The dispatcher: queued messages that are due.
            models.Index(fields=["not_before"], condition=Q(state="queued"), name="outbound_due_idx"),
            # The person's messages (frequency cap, record, account).
            models.Index(fields=["person", "channel", "not_before"], name="outbound_person_idx"),
            # The cap at claim time: the person's messages really sent in the last day.
            models.Index(
                fields=["person", "channel", "sent_at"],
                condition=Q(sent_at__isnull=False),
                name="outbound_person_sent_idx",
            ),
            models.Index(
                fields=["provider_ref"], condition=~Q(provider_ref=""), name="outbound_provider_ref_idx"
            ),
            # The merge of capped messages when they are released: those due, then a person's pending ones.
            models.Index(
                fields=["not_before"],
                condition=Q(state="queued", capped=True),
                name="outbound_capped_due_idx",
            ),
            models.Index(
                fields=["person", "channel"],
                condition=Q(state="queued", capped=True),
                name="outbound_capped_person_idx",
            ),
            models.Index(
                fields=["merged_into"],
                condition=Q(merged_into__isnull=False),
                name="outbound_merged_into_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=MessageChannel.values), name="outbound_channel_known"
            ),
            models.CheckConstraint(condition=Q(state__in=MessageState.values), name="outbound_state_known"),
            models.CheckConstraint(
                condition=Q(cap_policy__in=CapPolicy.values), name="outbound_cap_policy_known"
            ),
            models.CheckConstraint(
                condition=Q(state="queued")
                | Q(state="failed")
                | Q(state="merged")
                | Q(sent_at__isnull=False),
                name="outbound_sent_dated",
            ),
            models.CheckConstraint(
                condition=Q(state="merged", merged_into__isnull=False)
                | (~Q(state="merged") & Q(merged_into=None)),
                name="outbound_merged_into_digest",
            ),
        ]
        permissions = [("receive_receipts", "Can post delivery receipts")]

    def __str__(self) -> str:
        return f"{self.channel} -> {self.person_id} ({self.state})"


class OutboundKey(models.Model):
    """Which ledger message holds an idempotency key: PostgreSQL only.

    On PostgreSQL the ledger is partitioned by month of `created_at` (docs/scale.md), and a unique index there must
    hold the partition column: the key could no longer be unique across months. This table, written only by
    triggers of the ledger (migration 0005), keeps every key unique for all months at once, and tells the
    ledger's writer which keys are already there without reading every month. Empty on SQLite, where the unique
    key of the ledger itself does the same."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, primary_key=True)
    message_id = models.BigIntegerField(_("message id"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("outbound key")
        verbose_name_plural = _("outbound keys")

    def __str__(self) -> str:
        return self.idempotency_key


class InboxMessage(models.Model):
    """A message in the person's online account (the account displays it)."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="inbox_messages", db_index=False
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("received at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    subject_kind = models.CharField(_("subject kind"), max_length=12, blank=True)
    subject_ref = models.CharField(_("subject reference"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("inbox message")
        verbose_name_plural = _("inbox messages")
        indexes = [models.Index(fields=["person", "-created_at"], name="inbox_person_idx")]

    def __str__(self) -> str:
        return self.subject


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
            if channel not in MessageChannel.values:
                raise ValueError(
                    _("unknown channel %(c)r (one of %(all)s)")
                    % {"c": channel, "all": ", ".join(MessageChannel.values)}
                )
            if channel in seen:
                raise ValueError(_("channel %(c)s appears twice") % {"c": channel})
            seen.add(channel)
        steps.append(step)
    return tuple(tuple(step) for step in steps)


def validate_channel_policy(value: str) -> None:
    try:
        parse_policy(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class MessageTemplate(models.Model):
    """The words of a message. Placeholders like {first_name} or {amount} are checked when the template is saved
    against the variables its event type provides: a missing variable is refused then, never at send time."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    event_type = models.CharField(
        _("event type"),
        max_length=24,
        blank=True,
        help_text=_("the variables it may use depend on it; empty: person variables only"),
    )
    subject = models.CharField(_("subject (e-mail, account, letter)"), max_length=200)
    body = models.TextField(_("body (e-mail, account, letter)"))
    sms_body = models.CharField(_("SMS and push text"), max_length=480)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        self.full_clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from omniguichet.outreach.templating import check_template

        errors = check_template(self.event_type, subject=self.subject, body=self.body, sms_body=self.sms_body)
        if errors:
            raise ValidationError(errors)


class MessageRule(models.Model):
    """When a case event of this type (and these case types) is applied, send this template with this policy."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    event_type = models.CharField(_("event type"), max_length=24)
    case_types = models.CharField(_("case types (comma-separated; empty: all)"), max_length=200, blank=True)
    condition = models.JSONField(_("payload condition (all keys equal)"), default=dict, blank=True)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="rules")
    channel_policy = models.CharField(
        _("channel policy"),
        max_length=80,
        default="inbox+push>sms>email>letter",
        validators=[validate_channel_policy],
        help_text=_("steps tried in order, '>' between steps, '+' joins channels of one step"),
    )
    reminder_after_days = models.PositiveSmallIntegerField(
        _("reminder after (days)"),
        null=True,
        blank=True,
        help_text=_("document missing: remind when nothing was deposited after this many days"),
    )
    reminder_template = models.ForeignKey(
        MessageTemplate, on_delete=models.PROTECT, related_name="reminder_rules", null=True, blank=True
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("message rule")
        verbose_name_plural = _("message rules")
        indexes = [models.Index(fields=["event_type"], condition=Q(active=True), name="rule_active_idx")]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        self.full_clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from omniguichet.outreach.templating import check_template, event_kinds

        kinds = event_kinds()  # registered by the app whose events trigger messages (cases)
        errors: dict[str, str] = {}
        if self.event_type not in kinds.variables:
            errors["event_type"] = str(_("unknown event type"))
        unknown = [t for t in self.case_type_list if t not in kinds.subject_types]
        if unknown:
            errors["case_types"] = str(_("unknown case types: %(t)s")) % {"t": ", ".join(unknown)}
        if not isinstance(self.condition, dict):
            errors["condition"] = str(_("must be a JSON object"))
        for field_name, template in (
            ("template", self.template_id and self.template),
            ("reminder_template", self.reminder_template_id and self.reminder_template),
        ):
            if template:
                problems = check_template(
                    self.event_type, subject=template.subject, body=template.body, sms_body=template.sms_body
                )
                if problems:
                    errors[field_name] = "; ".join(f"{k}: {v}" for k, v in problems.items())
        if self.reminder_after_days is not None and not self.reminder_template_id:
            errors["reminder_template"] = str(_("a reminder needs its template"))
        if errors:
            raise ValidationError(errors)

    @property
    def case_type_list(self) -> list[str]:
        return [t.strip() for t in self.case_types.split(",") if t.strip()]
