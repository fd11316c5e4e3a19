"""Shared kernel models: API bearer tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A bearer token for /api/v1. Only a SHA-256 of the secret is stored; the secret is shown once.

    A fast hash is enough here: the secret is 256 random bits, so it cannot be guessed from its hash.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(_("label"), max_length=100, blank=True)
    prefix = models.CharField(
        _("prefix"), max_length=12, help_text=_("first characters, to recognise a token")
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="token_expires_later"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class Throttle(models.Model):
    """One counter of the throttling service (core.throttle): attempts of one kind (`scope`) from one key (an
    account, an address, a pair of both...) within a window, and the time before which the next one is refused.

    The key is kept as an HMAC, never in clear (it may be a NIR or an address). A table rather than the cache:
    every web process sees the same counters, and they survive a restart.
    """

    scope = models.CharField(_("scope"), max_length=32)
    key_hash = models.CharField(max_length=64)
    attempts = models.PositiveIntegerField(_("attempts in the window"), default=0)
    window_start = models.DateTimeField(_("window start"))
    last_at = models.DateTimeField(_("last attempt"))
    blocked_until = models.DateTimeField(_("blocked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("throttle counter")
        verbose_name_plural = _("throttle counters")
        constraints = [models.UniqueConstraint(fields=["scope", "key_hash"], name="throttle_scope_key_once")]
        indexes = [models.Index(fields=["last_at"], name="throttle_last_at_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key_hash[:8]}… ({self.attempts})"


class LoginFailure(models.Model):
    """The audit of failed logins: a wrong password or a wrong second-factor code, for a known login (staff or
    an insured person's account). The person reads their own in their account; staff ones are for the admin."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_failures"
    )
    at = models.DateTimeField(_("at"))
    channel = models.CharField(_("channel"), max_length=16)
    # What failed: "password" or "code" (second factor).
    factor = models.CharField(_("factor"), max_length=16, default="password")
    # The client address, shortened (the last part of an IPv4 address, the last 80 bits of an IPv6 one dropped).
    address = models.CharField(_("address"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")
        indexes = [models.Index(fields=["user", "at"], name="login_failure_user_at_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.at:%Y-%m-%d %H:%M} {self.factor}"


class TaskOrigin(models.Model):
    """The request (id) that enqueued a task, so that the worker's log lines carry it (core.observability).
    Written when the task is enqueued, deleted when it finishes."""

    task_id = models.CharField(_("task id"), max_length=64, primary_key=True)
    request_id = models.CharField(_("request id"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("task origin")
        verbose_name_plural = _("task origins")

    def __str__(self) -> str:
        return f"{self.task_id} <- {self.request_id}"


class ScheduleSlot(models.Model):
    """One run of a periodic task per period, whichever worker runs it (core.workers.claim_slot): a second chain
    of the same task, started by another worker, finds its slot taken and ends."""

    name = models.CharField(_("task"), max_length=100)
    slot = models.BigIntegerField(_("period number"))
    claimed_at = models.DateTimeField(_("claimed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("schedule slot")
        verbose_name_plural = _("schedule slots")
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="schedule_slot_once")]
        indexes = [models.Index(fields=["claimed_at"], name="schedule_slot_claimed_idx")]

    def __str__(self) -> str:
        return f"{self.name} #{self.slot}"


class WorkerHeartbeat(models.Model):
    """A task worker's lease: renewed every few seconds while it lives (core.workers). A task still "running"
    on a worker whose lease ran out (killed, machine lost) is put back in the queue and runs again."""

    worker_id = models.CharField(_("worker"), max_length=64, primary_key=True)
    host = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process"))
    beat_at = models.DateTimeField(_("last heartbeat"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.worker_id


class PartitionAction(models.TextChoices):
    DETACHED = "detached", _("detached")
    DROPPED = "dropped", _("dropped")
    ARCHIVED = "archived", _("archived")
    # Rows of a table that is not partitioned, deleted by date (the calls: telephony.services.retention).
    DELETED = "deleted", _("deleted")


class PartitionEvent(models.Model):
    """The audit of the retention of monthly partitions (core.retention, docs/scale.md): one row per step that
    took a month out of a live table (detached, then dropped or archived), with who asked, through which channel,
    under which rule, and how many rows. Never updated nor deleted by the platform."""

    at = models.DateTimeField(_("at"), default=timezone.now)
    table = models.CharField(_("table"), max_length=63)
    partition = models.CharField(_("partition"), max_length=63)
    month = models.DateField(_("month"))
    action = models.CharField(_("action"), max_length=8, choices=PartitionAction.choices)
    rows = models.BigIntegerField(_("rows"), null=True, blank=True)
    actor = models.CharField(_("who"), max_length=150)
    channel = models.CharField(_("channel"), max_length=20)
    rule = models.CharField(_("rule"), max_length=300)

    class Meta:
        verbose_name = _("partition retention event")
        verbose_name_plural = _("partition retention events")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=PartitionAction.values), name="partition_event_action_known"
            ),
        ]
        # The retention horizon of a table (the newest month that left it): read by the ingestion of contacts.
        indexes = [models.Index(fields=["table", "action", "-month"], name="partition_event_horizon_idx")]

    def __str__(self) -> str:
        return f"{self.partition} {self.action} {self.at:%Y-%m-%d %H:%M}"
