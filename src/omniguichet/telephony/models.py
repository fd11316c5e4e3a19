"""Telephony (CTI): the events the phone platform sends, stored once each, and the call they add up to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omniguichet.crm.models import Contact, Motive
from omniguichet.referential.models import Person


class EventKind(models.TextChoices):
    NEW = "new", _("new call")
    IVR = "ivr", _("voice menu choice")
    QUEUED = "queued", _("queued")
    ANSWER = "answer", _("answered")
    HANGUP = "hangup", _("hung up")


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("inbound")
    OUTBOUND = "outbound", _("outbound")


class CallEvent(models.Model):
    """One event line of the phone platform, stored once per (call_id, event): a replay finds it and writes nothing.

    `applied` is false while the event is held (its call's `new` has not arrived yet) and turns true when the
    call takes it into account (docs/telephony.md, "Ordering")."""

    call_id = models.CharField(_("call id"), max_length=64)
    event = models.CharField(_("event"), max_length=8, choices=EventKind.choices)
    at = models.DateTimeField(_("at"))
    from_number = models.CharField(_("from"), max_length=32, blank=True)
    to_number = models.CharField(_("to"), max_length=32, blank=True)
    direction = models.CharField(_("direction"), max_length=8, choices=CallDirection.choices)
    ivr_choice = models.CharField(_("voice menu choice"), max_length=16, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    applied = models.BooleanField(_("applied"), default=False)
    source = models.CharField(_("source"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        constraints = [
            models.UniqueConstraint(fields=["call_id", "event"], name="call_event_once"),
            models.CheckConstraint(condition=Q(event__in=EventKind.values), name="call_event_known"),
            models.CheckConstraint(
                condition=Q(direction__in=CallDirection.values), name="call_event_direction"
            ),
        ]
        indexes = [models.Index(fields=["call_id"], condition=Q(applied=False), name="call_event_held_idx")]

    def __str__(self) -> str:
        return f"{self.call_id} {self.event} {self.at:%Y-%m-%d %H:%M:%S}"


class CallStatus(models.TextChoices):
    RINGING = "ringing", _("ringing")
    QUEUED = "queued", _("in the queue")
    ANSWERED = "answered", _("answered")
    ENDED = "ended", _("ended")


class Call(models.Model):
    """A call as its applied events describe it; ended once its `hangup` is applied, with its one Contact."""

    call_id = models.CharField(_("call id"), max_length=64, unique=True)
    direction = models.CharField(_("direction"), max_length=8, choices=CallDirection.choices)
    from_number = models.CharField(_("from"), max_length=32, blank=True)
    to_number = models.CharField(_("to"), max_length=32, blank=True)
    # Only a verified phone contact point identifies the caller.
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    status = models.CharField(
        _("status"), max_length=8, choices=CallStatus.choices, default=CallStatus.RINGING
    )
    started_at = models.DateTimeField(_("started at"))
    ivr_choice = models.CharField(_("voice menu choice"), max_length=16, blank=True)
    motive = models.ForeignKey(Motive, on_delete=models.PROTECT, related_name="+", db_index=False)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    waited_seconds = models.PositiveIntegerField(_("waited (seconds)"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    # The agent's console opened the record (the screen-pop), at most once.
    popped_at = models.DateTimeField(_("record opened on the console at"), null=True, blank=True)
    # No foreign key in the database: the contact table is partitioned by month on PostgreSQL, and a foreign key
    # needs a unique id alone there (docs/scale.md). Django's PROTECT still refuses to delete a contact of a call.
    contact = models.OneToOneField(
        Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("contact"),
        db_constraint=False,
    )  # fmt: skip
    callback_offered = models.BooleanField(_("call-back offered by SMS"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [
            # The retention: the calls started before a month, oldest first (telephony.services.retention).
            models.Index(fields=["started_at"], name="call_started_idx"),
            # The screen-pop's poll: the latest answered call of an agent not yet shown.
            models.Index(
                fields=["agent", "-answered_at"],
                condition=Q(agent__isnull=False, popped_at__isnull=True),
                name="call_screen_pop_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CallStatus.values), name="call_status_known"),
            models.CheckConstraint(
                condition=~Q(status=CallStatus.ENDED) | Q(ended_at__isnull=False), name="call_ended_dated"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} ({self.status})"
