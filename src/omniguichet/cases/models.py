"""Cases (dossiers) handled by back-office systems: their status, the events that moved them, the documents
they wait for."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omniguichet.referential.models import Caisse, Person


class CaseType(models.TextChoices):
    SICK_PAY = "sick_pay", _("sick pay")
    REIMBURSEMENT = "reimbursement", _("reimbursement of care")
    CSS = "css", _("Complémentaire santé solidaire")
    EUROPEAN_CARD = "european_card", _("European health insurance card")
    VITALE_CARD = "vitale_card", _("Vitale card")
    ADDRESS_CHANGE = "address_change", _("change of address")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("open")
    WAITING_DOCUMENTS = "waiting_documents", _("waiting for documents")
    IN_PROGRESS = "in_progress", _("in progress")
    ACCEPTED = "accepted", _("accepted")
    REFUSED = "refused", _("refused")
    CLOSED = "closed", _("closed")


OPEN_STATUSES = [CaseStatus.OPEN, CaseStatus.WAITING_DOCUMENTS, CaseStatus.IN_PROGRESS, CaseStatus.ACCEPTED]


class EventType(models.TextChoices):
    OPENED = "opened", _("case opened")
    DOCUMENT_MISSING = "document_missing", _("document missing")
    DOCUMENT_RECEIVED = "document_received", _("document received")
    EXPECTED_DATE_CHANGED = "expected_date_changed", _("expected decision date changed")
    DECISION = "decision", _("decision")
    PAYMENT = "payment", _("payment")
    CARD_SHIPPED = "card_shipped", _("card shipped")
    CLOSED = "closed", _("case closed")


class Case(models.Model):
    """A case of one person, opened and moved by a back-office system through events."""

    reference = models.CharField(_("reference"), max_length=40, unique=True)
    case_type = models.CharField(_("type"), max_length=20, choices=CaseType.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases", db_index=False)
    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="cases", db_index=False)
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    expected_decision_on = models.DateField(_("expected decision date"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The sequence number of the last event applied: the next one applied is last_sequence + 1.
    last_sequence = models.PositiveIntegerField(_("last event applied"), default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["person", "-opened_at"], name="case_person_idx"),
            models.Index(fields=["caisse", "status"], name="case_caisse_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(case_type__in=CaseType.values), name="case_type_known"),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_case_type_display()})"


class EventState(models.TextChoices):
    APPLIED = "applied", _("applied")
    HELD = "held", _("held until the events before it arrive")


class CaseEvent(models.Model):
    """One event received from a back-office system. Events of a case apply in sequence order; one that arrives
    before its predecessors is held (stored, not applied) until the gap fills."""

    event_id = models.CharField(_("event id"), max_length=64, unique=True)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", db_index=False)
    sequence = models.PositiveIntegerField(_("sequence"))
    event_type = models.CharField(_("type"), max_length=24, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=8, choices=EventState.choices)
    source = models.CharField(_("source"), max_length=64)
    received_at = models.DateTimeField(_("received at"))
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [
            models.Index(fields=["case"], condition=Q(state="held"), name="case_event_held_idx"),
        ]
        constraints = [
            # The case timeline reads events by (case, sequence): this unique index serves it.
            models.UniqueConstraint(fields=["case", "sequence"], name="case_event_sequence_once"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="case_event_sequence_positive"),
            models.CheckConstraint(
                condition=Q(event_type__in=EventType.values), name="case_event_type_known"
            ),
            models.CheckConstraint(condition=Q(state__in=EventState.values), name="case_event_state_known"),
            models.CheckConstraint(
                condition=Q(state="held", applied_at__isnull=True)
                | Q(state="applied", applied_at__isnull=False),
                name="case_event_applied_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} #{self.sequence} {self.event_type}"


class RequestedDocument(models.Model):
    """A document a case waits for (a "pièce"), and when it arrived."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents", db_index=False)
    code = models.SlugField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=120)
    requested_at = models.DateTimeField(_("requested at"))
    due_on = models.DateField(_("due on"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("requested document")
        verbose_name_plural = _("requested documents")
        indexes = [
            # The reminder sweep: documents still awaited, oldest request first.
            models.Index(
                fields=["requested_at"],
                condition=Q(received_at__isnull=True, reminded_at__isnull=True),
                name="requested_doc_awaited_idx",
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["case", "code"], name="requested_document_once")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.label}"


class PlatformEventType(models.TextChoices):
    DOCUMENT_RECEIVED = "document_received", _("document received")
    DOCUMENT_REJECTED = "document_rejected", _("document rejected")


class PlatformEvent(models.Model):
    """An event the platform itself recorded on a case (a document deposited for one of its requests, then
    rejected by a basket agent). Kept apart from CaseEvent on purpose: the back office numbers ITS events of a
    case 1, 2, 3... and applies them in that order; an event of the platform takes no number there, so it can
    neither collide with the back office's next event nor hold it back. The person's timeline merges both by
    date."""

    key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="platform_events", db_index=False)
    event_type = models.CharField(_("type"), max_length=24, choices=PlatformEventType.choices)
    document_code = models.CharField(_("document code"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)

    class Meta:
        verbose_name = _("platform event")
        verbose_name_plural = _("platform events")
        indexes = [models.Index(fields=["case", "occurred_at"], name="platform_event_case_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(event_type__in=PlatformEventType.values), name="platform_event_type_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.event_type} {self.document_code}"
