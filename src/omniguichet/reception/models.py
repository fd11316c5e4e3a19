"""The walk-in reception queue of a site: tickets taken at the kiosk, called by agents, closed with an outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from omniguichet.appointments.models import Appointment, Site
from omniguichet.crm.models import Motive, Outcome
from omniguichet.referential.models import Person


class Category(models.TextChoices):
    """Served in this order (then by arrival): see docs/appointments-and-reception.md."""

    APPOINTMENT = "appointment", _("appointment")
    PRIORITY = "priority", _("priority need")
    WALK_IN = "walk_in", _("walk-in")


# Ticket numbers begin with a letter per category: R (rendez-vous), P (prioritaire), A (accueil).
CATEGORY_LETTERS = {Category.APPOINTMENT: "R", Category.PRIORITY: "P", Category.WALK_IN: "A"}
CATEGORY_RANK = {Category.APPOINTMENT: 0, Category.PRIORITY: 1, Category.WALK_IN: 2}


class TicketStatus(models.TextChoices):
    WAITING = "waiting", _("waiting")
    CALLED = "called", _("called")
    CLOSED = "closed", _("closed")
    LEFT = "left", _("left without being served")


class Ticket(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="tickets")
    day = models.DateField(_("day"))
    sequence = models.PositiveIntegerField(_("sequence of the day"))
    number = models.CharField(_("number"), max_length=8)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    # 0 appointment, 1 priority, 2 walk-in: the queue is read ordered by (rank, arrived_at).
    rank = models.PositiveSmallIntegerField(_("rank"))
    # Null for a walk-in who did not identify.
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="ticket"
    )
    motive = models.ForeignKey(Motive, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=8, choices=TicketStatus.choices, default=TicketStatus.WAITING
    )
    arrived_at = models.DateTimeField(_("arrived at"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    desk = models.CharField(_("desk"), max_length=20, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    contact_id = models.BigIntegerField(_("contact"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            # "Call next": the waiting tickets of a site in serving order.
            models.Index(
                fields=["site", "rank", "arrived_at"], condition=Q(status="waiting"), name="ticket_queue_idx"
            ),
            # The display and the agent's desk: the tickets of a site today.
            models.Index(fields=["site", "day", "-called_at"], name="ticket_site_day_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["site", "day", "sequence"], name="ticket_sequence_once"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="ticket_category_known"),
            models.CheckConstraint(condition=Q(status__in=TicketStatus.values), name="ticket_status_known"),
            models.CheckConstraint(
                condition=Q(called_at__isnull=True) | Q(called_at__gte=F("arrived_at")),
                name="ticket_called_after",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(called_at__isnull=False),
                name="ticket_closed_after_call",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.site_id}, {self.day})"

    @property
    def waited_seconds(self) -> int | None:
        if self.called_at is None:
            return None
        return int((self.called_at - self.arrived_at).total_seconds())

    @property
    def service_seconds(self) -> int | None:
        if self.called_at is None or self.closed_at is None:
            return None
        return int((self.closed_at - self.called_at).total_seconds())


class TicketCounter(models.Model):
    """The last ticket sequence of a site for a day; locked while a ticket is taken."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "day"], name="ticket_counter_once")]

    def __str__(self) -> str:
        return f"{self.site_id} {self.day}: {self.last}"
