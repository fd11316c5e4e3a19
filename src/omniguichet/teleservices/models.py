"""Online-service requests (one row per use of a teleservice, on any channel), and what the services show:
attestations with their verification code, reimbursements, sick-pay payments, card orders, bank details."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omniguichet.core.actors import ActorKind
from omniguichet.referential.models import Person


class RequestStatus(models.TextChoices):
    DONE = "done", _("done")
    PENDING = "pending", _("being processed")
    AWAITING_CODE = "awaiting_code", _("awaiting the confirmation code")


class TeleserviceRequest(models.Model):
    """One use of an online service. The idempotency key makes a double click or a retried call a replay."""

    service = models.CharField(_("service"), max_length=40)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="teleservice_requests", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=12)
    actor_kind = models.CharField(_("actor"), max_length=8, choices=ActorKind.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=RequestStatus.choices)
    data = models.JSONField(_("input"), default=dict)
    result = models.JSONField(_("result"), default=dict)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("online service request")
        verbose_name_plural = _("online service requests")
        indexes = [models.Index(fields=["person", "-created_at"], name="tsreq_person_created_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "service", "idempotency_key"], name="tsreq_idempotent_once"
            ),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="tsreq_status_known"),
            models.CheckConstraint(condition=~Q(idempotency_key=""), name="tsreq_key_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.service} #{self.pk}"


class AttestationKind(models.TextChoices):
    RIGHTS = "droits", _("certificate of rights")
    SICK_PAY = "ij", _("certificate of daily allowance payments")


class Attestation(models.Model):
    """An issued certificate: what it said (a snapshot), and the code anyone can type to check it is genuine."""

    code = models.CharField(_("verification code"), max_length=14, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=AttestationKind.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="attestations")
    request = models.OneToOneField(
        TeleserviceRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="attestation"
    )
    issued_at = models.DateTimeField(_("issued at"))
    content = models.JSONField(_("content"))

    class Meta:
        verbose_name = _("attestation")
        verbose_name_plural = _("attestations")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=AttestationKind.values), name="attestation_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Reimbursement(models.Model):
    """A reimbursement of care (one line of the statement)."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="reimbursements", db_index=False
    )
    care_date = models.DateField(_("date of care"))
    paid_on = models.DateField(_("paid on"))
    label = models.CharField(_("care"), max_length=120)
    professional = models.CharField(_("professional"), max_length=120, blank=True)
    amount_charged = models.DecimalField(_("amount charged"), max_digits=9, decimal_places=2)
    amount_reimbursed = models.DecimalField(_("amount reimbursed"), max_digits=9, decimal_places=2)

    class Meta:
        verbose_name = _("reimbursement")
        verbose_name_plural = _("reimbursements")
        indexes = [models.Index(fields=["person", "-care_date"], name="reimb_person_care_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_reimbursed__gte=0) & Q(amount_charged__gte=0),
                name="reimb_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.care_date} {self.label}"


class SickPayPayment(models.Model):
    """A payment of daily allowances (indemnités journalières) for a period of sick leave."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="sick_pay_payments", db_index=False
    )
    period_from = models.DateField(_("from"))
    period_to = models.DateField(_("to"))
    days = models.PositiveSmallIntegerField(_("days"))
    daily_amount = models.DecimalField(_("daily amount"), max_digits=7, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=9, decimal_places=2)
    paid_on = models.DateField(_("paid on"))

    class Meta:
        verbose_name = _("daily allowance payment")
        verbose_name_plural = _("daily allowance payments")
        indexes = [models.Index(fields=["person", "-paid_on"], name="ij_person_paid_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_to__gte=models.F("period_from")), name="ij_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_from} → {self.period_to}"


class CardKind(models.TextChoices):
    EHIC = "ehic", _("European health insurance card")
    VITALE = "vitale", _("carte Vitale")


class CardOrder(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="card_orders", db_index=False)
    kind = models.CharField(_("card"), max_length=8, choices=CardKind.choices)
    reason = models.CharField(_("reason"), max_length=16)
    request = models.OneToOneField(TeleserviceRequest, on_delete=models.CASCADE, related_name="card_order")
    ordered_at = models.DateTimeField(_("ordered at"))
    expected_by = models.DateField(_("expected by"))

    class Meta:
        verbose_name = _("card order")
        verbose_name_plural = _("card orders")
        indexes = [models.Index(fields=["person", "kind", "-ordered_at"], name="card_person_kind_idx")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=CardKind.values), name="card_kind_known")]

    def __str__(self) -> str:
        return f"{self.kind} {self.ordered_at:%Y-%m-%d}"


class BankDetails(models.Model):
    """The bank account where a person's reimbursements are paid."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="bank_details")
    iban = models.CharField(_("IBAN"), max_length=34)
    holder = models.CharField(_("account holder"), max_length=140)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("bank details")
        verbose_name_plural = _("bank details")

    def __str__(self) -> str:
        return f"{self.iban[:4]}…{self.iban[-4:]}"
