"""Secure messaging: the threads a person opens with their caisse from the online account or the app, their
messages (inbound and the agents' answers), the files attached, and the reply templates agents start from."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from omniguichet.core.actors import Channel
from omniguichet.crm.models import Direction, Motive, Person
from omniguichet.messaging.validators import validate_message_body, validate_reply_template
from omniguichet.referential.models import Caisse

MAX_BODY = 5000
MAX_ATTACHMENTS = 5
# A closed thread takes answers for this long; later, the person's message opens a new thread.
REOPEN_DAYS = 30
# The kind of work item a thread is, for the deadline policies: "message", or "email" for e-mail threads.
WORK_ITEM_KIND = "message"
EMAIL_WORK_ITEM_KIND = "email"

# An e-mail's HTML part, sanitised, is kept up to this length (the text shown is the body, at most MAX_BODY).
MAX_HTML = 200_000


class ThreadChannel(models.TextChoices):
    """Where a thread comes from: the account's secure messaging, or e-mail received by the platform."""

    SECURE_MESSAGE = Channel.SECURE_MESSAGE.value, Channel.SECURE_MESSAGE.label
    EMAIL = Channel.EMAIL.value, Channel.EMAIL.label


class ThreadStatus(models.TextChoices):
    WAITING = "waiting", _("waiting for an answer")
    ANSWERED = "answered", _("answered")
    CLOSED = "closed", _("closed")


class ThreadOutcome(models.TextChoices):
    RESOLVED = "resolved", _("answered, nothing more to do")
    REDIRECTED = "redirected", _("redirected to another service or channel")
    NO_ACTION = "no_action", _("no answer needed")


class LinkKind(models.TextChoices):
    """What a thread may be about, among the person's own things (crm.SubjectKind values)."""

    CASE = "case", _("case")
    APPOINTMENT = "appointment", _("appointment")
    TELESERVICE = "teleservice", _("online service request")


class ReplyTemplate(models.Model):
    """A model answer an agent starts from; placeholders are filled from the thread (see validators)."""

    code = models.SlugField(_("code"), max_length=40, primary_key=True)
    label = models.CharField(_("label"), max_length=120)
    body = models.TextField(_("text"), validators=[MaxLengthValidator(MAX_BODY), validate_reply_template])
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["label"]
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")

    def __str__(self) -> str:
        return self.label


class Thread(models.Model):
    # An e-mail from a sender no verified address identifies has no person until an agent attaches it.
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="threads", db_index=False, null=True, blank=True
    )
    channel = models.CharField(
        _("channel"), max_length=16, choices=ThreadChannel.choices, default=ThreadChannel.SECURE_MESSAGE
    )
    # E-mail threads: the sender's address (normalised) and the Message-ID of the first mail.
    sender_address = models.CharField(_("sender's address"), max_length=254, blank=True, default="")
    email_ref = models.CharField(_("e-mail reference"), max_length=255, blank=True, default="")
    # The classifier's suggestion for an e-mail (which carries no motive), and its confidence.
    suggested_motive = models.CharField(_("suggested motive"), max_length=40, blank=True, default="")
    suggestion_confidence = models.FloatField(_("confidence of the suggestion"), null=True, blank=True)
    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="+", db_index=False)
    motive = models.ForeignKey(Motive, on_delete=models.PROTECT, related_name="+", db_index=False)
    subject = models.CharField(_("subject"), max_length=150)
    link_kind = models.CharField(_("about"), max_length=12, choices=LinkKind.choices, blank=True, default="")
    link_ref = models.CharField(_("reference"), max_length=64, blank=True, default="")
    link_label = models.CharField(_("about (label)"), max_length=200, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=ThreadStatus.choices, default=ThreadStatus.WAITING
    )
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=ThreadOutcome.choices, blank=True, default=""
    )
    opened_at = models.DateTimeField(_("opened at"))
    last_message_at = models.DateTimeField(_("last message at"))
    # The clock: set when the person writes, cleared by an answer or the closing (docs/messaging.md).
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    deadline = models.DateTimeField(_("answer due"), null=True, blank=True)
    # 80 % of the time to the deadline gone, counted the policy's way (crm.services.deadlines, docs/deadlines.md).
    due_soon_at = models.DateTimeField(_("due soon from"), null=True, blank=True)
    # Each answer counted in time (before the deadline) or late: the dashboards' share treated in time.
    answered_in_time = models.PositiveIntegerField(_("answers in time"), default=0)
    answered_late = models.PositiveIntegerField(_("answers late"), default=0)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("message thread")
        verbose_name_plural = _("message threads")
        indexes = [
            # The person's threads, newest first (account, app).
            models.Index(fields=["person", "-last_message_at"], name="thread_person_idx"),
            # A caisse's queue: open threads, oldest deadline first.
            models.Index(fields=["caisse", "status", "deadline"], name="thread_queue_idx"),
            # E-mail threads of a sender (the acknowledgement's once-an-hour rule).
            models.Index(
                fields=["sender_address"], condition=~Q(sender_address=""), name="thread_sender_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ThreadStatus.values), name="thread_status_known"),
            models.CheckConstraint(
                condition=(Q(status=ThreadStatus.CLOSED) & ~Q(outcome="") & Q(closed_at__isnull=False))
                | (~Q(status=ThreadStatus.CLOSED) & Q(outcome="")),
                name="thread_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=(Q(link_kind="") & Q(link_ref="")) | (~Q(link_kind="") & ~Q(link_ref="")),
                name="thread_link_complete",
            ),
            models.CheckConstraint(
                condition=Q(status=ThreadStatus.WAITING) | Q(deadline__isnull=True),
                name="thread_deadline_open",
            ),
            models.CheckConstraint(
                condition=Q(status=ThreadStatus.WAITING) | Q(due_soon_at__isnull=True),
                name="thread_due_soon_open",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=ThreadChannel.values), name="thread_channel_known"
            ),
            models.CheckConstraint(
                condition=Q(person__isnull=False) | Q(channel=ThreadChannel.EMAIL),
                name="thread_person_or_email",
            ),
            models.CheckConstraint(
                condition=Q(channel=ThreadChannel.EMAIL) | Q(sender_address=""),
                name="thread_sender_only_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.subject}"

    @property
    def work_item_kind(self) -> str:
        return EMAIL_WORK_ITEM_KIND if self.channel == ThreadChannel.EMAIL else WORK_ITEM_KIND


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages", db_index=False)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    body = models.TextField(_("message"), validators=[MaxLengthValidator(MAX_BODY), validate_message_body])
    created_at = models.DateTimeField(_("written at"))
    # An answer the person has opened in the account or the app.
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # The app's Idempotency-Key (with the person's id): the same request twice writes one message.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=120, null=True, blank=True, unique=True
    )
    # E-mail: the mail's Message-ID (an e-mail replayed with the same one is stored once), its HTML part
    # sanitised, the files the documents' checks refused ([{"name", "reason"}]) and when the sender was
    # sent the automatic acknowledgement.
    message_id = models.CharField(_("Message-ID"), max_length=255, null=True, blank=True, unique=True)
    html = models.TextField(
        _("HTML (sanitised)"), blank=True, default="", validators=[MaxLengthValidator(MAX_HTML)]
    )
    refused_files = models.JSONField(_("refused files"), default=list, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["thread", "created_at"], name="message_thread_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="message_direction_known"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), MAX_BODY), name="message_body_max_length"
            ),
            models.CheckConstraint(condition=~Q(body=""), name="message_body_not_empty"),
            models.CheckConstraint(
                condition=Q(direction=Direction.INBOUND) | Q(agent__isnull=False),
                name="message_answer_has_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.thread_id}/{self.pk}"


class Attachment(models.Model):
    """A file of a message: checked like every deposited document, stored encrypted in the document storage."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size"))
    pages = models.PositiveIntegerField(_("pages"), default=1)
    checksum = models.CharField(_("SHA-256"), max_length=64)
    file = models.CharField(_("stored as"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name
