"""The runs of the warehouse export: queued by the national role or by the schedule, run by the worker."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class ExportTrigger(models.TextChoices):
    API = "api", _("requested")
    SCHEDULE = "schedule", _("schedule")
    COMMAND = "command", _("command line")


class ExportRun(models.Model):
    """One run of the warehouse export and what it wrote. At most one run waits and one runs at a time."""

    trigger = models.CharField(_("trigger"), max_length=12, choices=ExportTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    contacts = models.BigIntegerField(_("contacts written"), default=0)
    changed = models.BigIntegerField(_("contacts rewritten after a change"), default=0)
    parts = models.IntegerField(_("part files written"), default=0)
    persons = models.BigIntegerField(_("persons written"), null=True, blank=True)
    high_water = models.BigIntegerField(_("highest contact id"), default=0)
    floor = models.BigIntegerField(_("final up to contact id"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("warehouse export")
        verbose_name_plural = _("warehouse exports")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="export_status_known"),
            models.CheckConstraint(
                condition=Q(trigger__in=ExportTrigger.values), name="export_trigger_known"
            ),
            # One run waiting and one running at most: a request while one waits joins it.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]),
                name="export_one_queued_one_running",
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"
