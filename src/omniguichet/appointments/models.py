"""Appointments: reception sites of a caisse, their hours and closures, agents' availability, appointment
motives, the appointments themselves and the waiting list for freed slots."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from omniguichet.cases.models import Case
from omniguichet.crm.models import Motive
from omniguichet.referential.fields import PhoneField, PostcodeField
from omniguichet.referential.models import Caisse, Person


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Site(models.Model):
    """A reception point of a caisse (accueil): where desk appointments happen and whose team makes call-backs."""

    caisse = models.ForeignKey(
        Caisse, verbose_name=_("caisse"), on_delete=models.PROTECT, related_name="sites"
    )
    name = models.CharField(_("name"), max_length=120)
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    postcode = PostcodeField(_("postcode"), max_length=5, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    # Appointments start on this grid (minutes after the opening of each period).
    slot_minutes = models.PositiveSmallIntegerField(_("slot grid (minutes)"), default=15)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["caisse", "name"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        indexes = [models.Index(fields=["caisse", "active"], name="site_caisse_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=120), name="site_slot_grid_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.caisse_id})"


class OpeningHours(models.Model):
    """One opening period of a site on a weekday, in local (Europe/Paris) wall-clock time. A day may have two
    (morning, afternoon)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["site", "weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="opening_hours_ordered"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="opening_weekday_range"),
            models.UniqueConstraint(fields=["site", "weekday", "opens"], name="opening_hours_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class SiteClosure(models.Model):
    """Days a site is closed (public holidays, works), both ends included."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="closures")
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        ordering = ["site", "first_day"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        indexes = [models.Index(fields=["site", "last_day"], name="closure_site_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=F("first_day")), name="closure_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.site_id}: {self.first_day} -> {self.last_day}"


class AgentAvailability(models.Model):
    """When an agent receives or calls back at a site: a weekday period in local wall-clock time."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="availabilities")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availabilities"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))

    class Meta:
        ordering = ["site", "agent", "weekday", "starts"]
        verbose_name = _("agent availability")
        verbose_name_plural = _("agent availabilities")
        indexes = [models.Index(fields=["agent", "weekday"], name="availability_agent_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="availability_ordered"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="availability_weekday"),
            models.UniqueConstraint(fields=["site", "agent", "weekday", "starts"], name="availability_once"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}@{self.site_id} {self.weekday} {self.starts:%H:%M}-{self.ends:%H:%M}"


class Mode(models.TextChoices):
    DESK = "desk", _("at the reception desk")
    PHONE = "phone", _("phone call-back")
    VIDEO = "video", _("video call")


class AppointmentMotive(models.Model):
    """Why a person books: how long it lasts, how it happens, how early and how late it may be booked, and
    what to bring."""

    code = models.SlugField(_("code"), max_length=40, primary_key=True)
    label = models.CharField(_("label"), max_length=120)
    # The contact motive recorded in the customer record for this appointment.
    contact_motive = models.ForeignKey(
        Motive, verbose_name=_("contact motive"), on_delete=models.PROTECT, related_name="+"
    )
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.DESK)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)
    min_delay_hours = models.PositiveSmallIntegerField(_("booked at least (hours ahead)"), default=24)
    max_delay_days = models.PositiveSmallIntegerField(_("booked at most (days ahead)"), default=60)
    documents_to_bring = models.TextField(_("documents to bring or deposit beforehand"), blank=True)
    # The document types (documents.models.DocumentType values) the person may deposit online before the
    # appointment (the deposit purpose "appointment"); empty: nothing to deposit.
    deposit_types = models.JSONField(_("documents to deposit beforehand (types)"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["label"]
        verbose_name = _("appointment motive")
        verbose_name_plural = _("appointment motives")
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="appointment_motive_mode_known"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=240),
                name="appointment_motive_duration_range",
            ),
            models.CheckConstraint(condition=Q(max_delay_days__gte=1), name="appointment_motive_max_delay"),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from omniguichet.documents.models import DocumentType

        types = self.deposit_types
        if not isinstance(types, list) or any(t not in DocumentType.values for t in types):
            raise ValidationError(
                {
                    "deposit_types": _("a list of document types among %(all)s")
                    % {"all": ", ".join(DocumentType.values)}
                }
            )


class Status(models.TextChoices):
    BOOKED = "booked", _("booked")
    CANCELLED = "cancelled", _("cancelled")
    DONE = "done", _("done")
    NO_ANSWER = "no_answer", _("no answer")
    MISSED = "missed", _("missed")


class Appointment(models.Model):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="appointments")
    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    motive = models.ForeignKey(AppointmentMotive, on_delete=models.PROTECT, related_name="appointments")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)
    booked_channel = models.CharField(_("booked through"), max_length=12)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    phone = PhoneField(_("phone number to call back"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # The case of the back office this appointment is about ("book an appointment about this file").
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    # Video appointments: the unguessable room of the video link sent in the confirmation.
    video_room = models.CharField(_("video room"), max_length=40, blank=True)
    # Shown as a QR code in the confirmation; typed or scanned at the kiosk on arrival.
    checkin_code = models.CharField(_("check-in code"), max_length=16, unique=True)
    callback_attempts = models.PositiveSmallIntegerField(_("call-back attempts"), default=0)
    retry_after = models.DateTimeField(_("call again after"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [
            models.Index(fields=["person", "-start"], name="appointment_person_idx"),
            models.Index(fields=["site", "start"], name="appointment_site_idx"),
            models.Index(fields=["caisse", "start"], name="appointment_caisse_idx"),
            # The sweep of missed appointments: live ones whose time has passed.
            models.Index(fields=["end"], condition=Q(status="booked"), name="appointment_booked_end_idx"),
        ]
        constraints = [
            # The database itself refuses two live appointments of one agent at the same start. Its index also
            # serves the free-slot search and the overlap check (an agent's booked appointments by time).
            models.UniqueConstraint(
                fields=["agent", "start"], condition=Q(status="booked"), name="appointment_agent_start_once"
            ),
            models.UniqueConstraint(
                fields=["video_room"], condition=~Q(video_room=""), name="appointment_video_room_once"
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_period_ordered"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="appointment_status_known"),
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="appointment_mode_known"),
        ]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} {self.motive_id} ({self.get_status_display()})"


class WaitStatus(models.TextChoices):
    WAITING = "waiting", _("waiting")
    BOOKED = "booked", _("booked")
    CLOSED = "closed", _("closed")


class WaitingListEntry(models.Model):
    """A person waiting for an earlier slot: freed slots in the window are offered, up to a cap of offers."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="appointment_waits")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="waiting_list")
    motive = models.ForeignKey(AppointmentMotive, on_delete=models.CASCADE, related_name="+")
    earliest = models.DateField(_("from"))
    latest = models.DateField(_("to"))
    status = models.CharField(
        _("status"), max_length=8, choices=WaitStatus.choices, default=WaitStatus.WAITING
    )
    offers_sent = models.PositiveSmallIntegerField(_("offers sent"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting-list entries")
        indexes = [
            models.Index(
                fields=["site", "motive", "created_at"],
                condition=Q(status="waiting"),
                name="waiting_list_queue_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(latest__gte=F("earliest")), name="waiting_period_ordered"),
            models.UniqueConstraint(
                fields=["person", "site", "motive"], condition=Q(status="waiting"), name="waiting_once"
            ),
            models.CheckConstraint(condition=Q(status__in=WaitStatus.values), name="waiting_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} waits {self.motive_id}@{self.site_id}"
