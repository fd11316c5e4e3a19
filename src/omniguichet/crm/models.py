"""The customer record: every contact on every channel, and the audit trail of who opened a record."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from omniguichet.core.actors import CONTACT_CHANNEL_CHOICES, CONTACT_CHANNEL_VALUES, ActorKind, Channel
from omniguichet.crm import validators
from omniguichet.referential.models import Caisse, Person

SELF_SERVICE_CHANNELS = [Channel.WEB, Channel.APP, Channel.KIOSK]


class Direction(models.TextChoices):
    INBOUND = "inbound", _("inbound")
    OUTBOUND = "outbound", _("outbound")


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("resolved")
    TRANSFERRED = "transferred", _("transferred")
    PENDING = "pending", _("pending")


class SubjectKind(models.TextChoices):
    """What a contact is about, when it concerns one object of another app (a generic link, no cross-app FK)."""

    CASE = "case", _("case")
    DOCUMENT = "document", _("document")
    APPOINTMENT = "appointment", _("appointment")
    MESSAGE = "message", _("message")
    TELESERVICE = "teleservice", _("online service request")
    TICKET = "ticket", _("reception ticket")
    LETTER = "letter", _("letter")


class Motive(models.Model):
    """The managed taxonomy of contact motives; new ones are added in the admin."""

    code = models.SlugField(_("code"), max_length=40, primary_key=True)
    label = models.CharField(_("label"), max_length=120)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("motive")
        verbose_name_plural = _("motives")

    def __str__(self) -> str:
        return self.label


class Contact(models.Model):
    """One interaction with a person, on any channel. Written only by crm.services.record_contact."""

    # No single-column indexes on these foreign keys: the composite indexes below start with person and caisse,
    # and every index is written for each of hundreds of millions of contacts.
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="contacts", db_index=False)
    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="contacts", db_index=False)
    channel = models.CharField(_("channel"), max_length=16, choices=CONTACT_CHANNEL_CHOICES)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    # Only the (rare) deletion of a motive would use an index of its own.
    motive = models.ForeignKey(Motive, on_delete=models.PROTECT, related_name="contacts", db_index=False)
    started_at = models.DateTimeField(_("started at"))
    actor_kind = models.CharField(_("actor"), max_length=8, choices=ActorKind.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        db_index=False,  # indexed below only where set: most contacts have no agent
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.RESOLVED)
    note = models.TextField(_("note"), blank=True)
    # Channel-specific facts.
    answered = models.BooleanField(_("answered (phone)"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at (messages)"), null=True, blank=True)
    on_appointment = models.BooleanField(_("on appointment (reception)"), null=True, blank=True)
    waited_seconds = models.PositiveIntegerField(_("waited (seconds, reception)"), null=True, blank=True)
    # Where the contact came from when another system sent it: replaying a batch finds these and writes nothing.
    # The case, document, appointment or message this contact concerns (kind + that app's id).
    subject_kind = models.CharField(
        _("subject kind"), max_length=12, choices=SubjectKind.choices, blank=True, default="", db_default=""
    )
    subject_ref = models.CharField(
        _("subject reference"), max_length=64, blank=True, default="", db_default=""
    )
    source = models.CharField(_("source"), max_length=64, blank=True)
    external_id = models.CharField(_("external id"), max_length=128, null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            # The timeline of a record, newest first; also with a channel or motive filter, which walks the
            # person's entries in order (a person has hundreds of contacts, not millions). No index per filter:
            # each one is one more random write for every contact ingested (measured in bench/RESULTS.md).
            models.Index(fields=["person", "-started_at", "-id"], name="contact_timeline_idx"),
            models.Index(fields=["caisse", "started_at"], name="contact_caisse_period_idx"),
            models.Index(fields=["agent"], condition=Q(agent__isnull=False), name="contact_agent_idx"),
        ]
        constraints = [
            # On PostgreSQL this constraint is carried by ContactKey (the table is partitioned by month).
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="contact_external_once",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=CONTACT_CHANNEL_VALUES), name="contact_channel_known"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="contact_direction_known"
            ),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="contact_outcome_known"),
            models.CheckConstraint(condition=Q(actor_kind__in=ActorKind.values), name="contact_actor_known"),
            models.CheckConstraint(
                condition=Q(responded_at__isnull=True) | Q(responded_at__gte=models.F("started_at")),
                name="contact_response_after_start",
            ),
            models.CheckConstraint(
                condition=(Q(subject_kind="") & Q(subject_ref=""))
                | (Q(subject_kind__in=SubjectKind.values) & ~Q(subject_ref="")),
                name="contact_subject_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.channel} {self.motive_id}"

    @property
    def is_online_action(self) -> bool:
        """Something the person did themselves online (shown as such in the record)."""
        return self.actor_kind == ActorKind.INSURED and self.channel in SELF_SERVICE_CHANNELS


class ContactKey(models.Model):
    """Where a contact sent by another system is, by its (source, external id): PostgreSQL only.

    On PostgreSQL the contact table is partitioned by month of `started_at` (docs/scale.md), and a unique index
    there must hold the partition column: (source, external_id) could no longer be unique across months. This
    table, written only by triggers of the contact table (migration 0011), holds that rule for every month at
    once and answers the ingestion's replay lookups without reading the contacts. Empty on SQLite, where the
    constraint `contact_external_once` of the contact table does the same."""

    pk = models.CompositePrimaryKey("source", "external_id")
    source = models.CharField(_("source"), max_length=64)
    external_id = models.CharField(_("external id"), max_length=128)
    contact_id = models.BigIntegerField(_("contact id"))

    class Meta:
        verbose_name = _("contact key")
        verbose_name_plural = _("contact keys")

    def __str__(self) -> str:
        return f"{self.source}/{self.external_id} -> {self.contact_id}"


class ContactChange(models.Model):
    """One change of an already-recorded contact (update or deletion), for the analytics warehouse export.

    Written only by database triggers (migration 0006): every UPDATE of an exported column and every DELETE of
    a contact, whichever code runs it (a service, a queryset update(), the admin, raw SQL). Inserting a contact
    writes nothing here: the export finds new contacts by id. A small append-only log, never read by a screen.
    """

    contact_id = models.BigIntegerField(_("contact id"))
    changed_at = models.DateTimeField(_("changed at"), db_default=Now())

    class Meta:
        verbose_name = _("contact change")
        verbose_name_plural = _("contact changes")

    def __str__(self) -> str:
        return f"contact {self.contact_id} changed"


class RecordAccess(models.Model):
    """One opening of a customer record: who, when, which record, why. The person can read these."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="record_accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="record_accesses"
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    channel = models.CharField(_("channel"), max_length=16)
    accessed_at = models.DateTimeField(_("accessed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("record access")
        verbose_name_plural = _("record accesses")
        indexes = [models.Index(fields=["person", "-accessed_at"], name="record_access_person_idx")]

    def __str__(self) -> str:
        return f"{self.user} -> {self.person_id} ({self.accessed_at:%Y-%m-%d %H:%M})"


# --- deadline policies (docs/deadlines.md) -----------------------------------------------------------------------
class DeadlineUnit(models.TextChoices):
    """How a policy counts its duration (referential.calendars.Unit)."""

    CALENDAR_HOURS = "calendar_hours", _("calendar hours")
    WORKING_HOURS = "working_hours", _("working hours (the caisse's opening periods)")
    WORKING_DAYS = "working_days", _("working days")


# The longest duration a policy may give, per unit: a year.
MAX_DURATION: dict[str, int] = {
    DeadlineUnit.CALENDAR_HOURS: 366 * 24,
    DeadlineUnit.WORKING_HOURS: 52 * 5 * 7 * 2,
    DeadlineUnit.WORKING_DAYS: 260,
}


class DeadlinePolicy(models.Model):
    """How long the caisses have to work an item of one kind (a message, an e-mail, a document...), for one motive
    or for every motive of the kind. The most specific policy wins: kind and motive, then the kind alone."""

    kind = models.CharField(
        _("kind of work item"), max_length=30, validators=[validators.validate_work_item_kind],
        help_text=_("message, email, document... (lower-case letters, digits and _)"),
    )  # fmt: skip
    motive = models.ForeignKey(
        Motive, verbose_name=_("motive"), null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text=_("empty: every motive of this kind without a policy of its own"),
    )  # fmt: skip
    duration = models.PositiveIntegerField(_("duration"), validators=[MinValueValidator(1)])
    unit = models.CharField(_("unit"), max_length=20, choices=DeadlineUnit.choices)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["kind", "motive"]
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        constraints = [
            models.CheckConstraint(condition=Q(duration__gte=1), name="deadline_policy_duration_positive"),
            models.CheckConstraint(
                condition=Q(unit__in=DeadlineUnit.values), name="deadline_policy_unit_known"
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(motive__isnull=True), name="deadline_policy_kind_unique"
            ),
            models.UniqueConstraint(
                fields=["kind", "motive"],
                condition=Q(motive__isnull=False),
                name="deadline_policy_motive_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.motive_id or '*'}: {self.duration} {self.get_unit_display()}"

    def clean(self) -> None:
        """Rules across fields: a duration within a year in its unit, one policy per kind and motive."""
        super().clean()
        if (
            self.unit in MAX_DURATION
            and self.duration is not None
            and self.duration > MAX_DURATION[self.unit]
        ):
            raise ValidationError(
                {
                    "duration": _("at most %(n)d %(unit)s")
                    % {"n": MAX_DURATION[self.unit], "unit": self.get_unit_display()}
                }
            )
        if self.kind:
            same = DeadlinePolicy.objects.filter(kind=self.kind, motive_id=self.motive_id).exclude(pk=self.pk)
            if same.exists():
                raise ValidationError(
                    {"kind": _("there is already a policy for this kind and motive")
                     if self.motive_id else _("there is already a policy for every motive of this kind")}
                )  # fmt: skip


class LabelledExample(models.Model):
    """An agent's correction of a message's motive, kept as a labelled example for the classifier's next training
    (`omniguichet export_corrections`, docs/classifier.md). The text is the message as the person wrote it."""

    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    motive = models.ForeignKey(Motive, on_delete=models.PROTECT, related_name="+", db_index=False)
    suggested = models.CharField(_("suggested motive"), max_length=40, blank=True)
    confidence = models.FloatField(_("confidence of the suggestion"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("labelled example")
        verbose_name_plural = _("labelled examples")
        indexes = [models.Index(fields=["created_at"], name="labelled_example_created_idx")]

    def __str__(self) -> str:
        return f"{self.suggested or '?'} -> {self.motive_id}"
