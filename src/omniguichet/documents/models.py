"""Documents (pièces justificatives): what a person deposits, always for a purpose. Each document waits in a basket
of the person's caisse as a work item of kind "document" (the baskets app) until an agent accepts or rejects it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omniguichet.baskets.models import ProcessingKind, SubjectItem
from omniguichet.core.actors import ActorKind
from omniguichet.referential.models import Caisse, Person


class DocumentType(models.TextChoices):
    BANK_DETAILS = "bank_details", _("bank details (RIB)")
    BIRTH_CERTIFICATE = "birth_certificate", _("birth certificate")
    SICK_LEAVE_FORM = "sick_leave_form", _("sick-leave form")
    SALARY_CERTIFICATE = "salary_certificate", _("salary certificate")
    PROOF_OF_INCOME = "proof_of_income", _("proof of income")
    PROOF_OF_ADDRESS = "proof_of_address", _("proof of address")
    IDENTITY_DOCUMENT = "identity_document", _("identity document")


class PurposeKind(models.TextChoices):
    """What a deposit is for. Never "any document": each kind has a resolver registered in services.py."""

    TELESERVICE = "teleservice", _("online service request")
    CASE_REQUEST = "case_request", _("missing document of a case")
    APPOINTMENT = "appointment", _("appointment")
    REQUEST = "request", _("document request")


class DocumentStatus(models.TextChoices):
    """The document's own status: received (waiting for a decision), accepted or rejected. "claimed" is never
    stored: a document is claimed while its work item is (Document.state)."""

    RECEIVED = "received", _("received")
    CLAIMED = "claimed", _("claimed")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")


STORED_STATUSES = (DocumentStatus.RECEIVED, DocumentStatus.ACCEPTED, DocumentStatus.REJECTED)


class RequestStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class DocumentRequest(models.Model):
    """A request for given document types from a person (an agent asking for a piece). The purpose kind
    "request" of this app; teleservices, cases and appointments bring their own purposes."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="document_requests")
    document_types = models.JSONField(_("expected document types"), default=list)
    label = models.CharField(_("label"), max_length=200)
    processing_kind = models.CharField(
        _("processing kind"), max_length=20, choices=ProcessingKind.choices, blank=True, default=""
    )
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default="open")
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RequestStatus.values), name="docrequest_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_status_display()})"


class Deposit(models.Model):
    """One deposit: one or more files for one purpose, through one channel. All-or-nothing."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="deposits")
    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="+", db_index=False)
    purpose_kind = models.CharField(_("purpose"), max_length=20, choices=PurposeKind.choices)
    purpose_ref = models.CharField(_("purpose reference"), max_length=64)
    channel = models.CharField(_("channel"), max_length=16)
    actor_kind = models.CharField(_("actor"), max_length=10, choices=ActorKind.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("deposited at"), auto_now_add=True)
    # The caller's key (API header Idempotency-Key, the web form's hidden field): a retried deposit with the same
    # key for the same person returns the first deposit instead of making a second one. Empty: no key.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="deposit_idempotent_once",
            ),
        ]

    def __str__(self) -> str:
        return f"deposit {self.pk} ({self.purpose_kind} {self.purpose_ref})"


class Document(models.Model):
    """One deposited file, encrypted at rest, and the decision on it. Its place in the queue (basket, claimant,
    deadline, transfers) is its work item's (baskets.WorkItem, kind "document": `item`), the one source of truth,
    read in the same query (`select_related("item")`); docs/baskets.md says which field lives where."""

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="documents", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="documents", db_index=False)
    # The caisse whose agents may see the document (the person's at the deposit), open or decided.
    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="+", db_index=False)
    item = SubjectItem(item_kind="document")
    document_type = models.CharField(_("document type"), max_length=32, choices=DocumentType.choices)
    purpose_kind = models.CharField(_("purpose"), max_length=20, choices=PurposeKind.choices)
    purpose_ref = models.CharField(_("purpose reference"), max_length=64)
    # The name of the encrypted file in the "documents" storage (settings.STORAGES).
    file = models.CharField(_("stored file"), max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=40)
    checksum = models.CharField(_("SHA-256 of the plain file"), max_length=64)
    size = models.PositiveIntegerField(_("size in bytes"))
    pages = models.PositiveIntegerField(_("pages"), default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.RECEIVED
    )
    received_at = models.DateTimeField(_("received at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )  # fmt: skip
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(_("rejection reason"), max_length=300, blank=True)
    # True while no decision is taken (kept by the services, checked by a constraint).
    is_open = models.BooleanField(_("to process"), default=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [
            # The customer record's "recent documents" and the person's own list.
            models.Index(fields=["person", "-received_at"], name="document_person_idx"),
            models.Index(fields=["deposit"], name="document_deposit_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=STORED_STATUSES), name="document_status_stored"),
            models.CheckConstraint(
                condition=Q(is_open=True, status="received")
                | Q(is_open=False, status__in=["accepted", "rejected"]),
                name="document_open_until_decided",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="document_rejection_has_reason",
            ),
            models.UniqueConstraint(fields=["file"], name="document_file_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} #{self.pk}"

    @property
    def state(self) -> str:
        """What the pages and the API show: the decision, or "claimed" while the item is claimed (select the item
        with the document: `select_related("item")`)."""
        if self.is_open and self.item.claimed_by_id is not None:
            return DocumentStatus.CLAIMED
        return self.status

    def get_state_display(self) -> str:
        return str(DocumentStatus(self.state).label)


class KeyCanary(models.Model):
    """A known text encrypted with each document key the platform has used: at start-up (a system check) the keys
    configured must open it, so that a platform restored with a wrong key stops at once, not at the first
    document an agent opens (docs/operations.md)."""

    key_id = models.CharField(_("key id"), max_length=16, primary_key=True)
    blob = models.BinaryField(_("encrypted canary"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document key canary")
        verbose_name_plural = _("document key canaries")

    def __str__(self) -> str:
        return self.key_id
