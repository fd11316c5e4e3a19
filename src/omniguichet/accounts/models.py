"""The online account (compte): the login of an insured person, its second factor and one-time codes."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from omniguichet.referential.models import Person


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")
    CLOSED = "closed", _("closed")


class Account(models.Model):
    """A person's online account: at most one per person."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="account")
    # The login of the account, set when the person activates it.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="account"
    )
    opened_at = models.DateTimeField(_("opened at"))
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    # No lock any more: wrong passwords are throttled by core.throttle (a stranger could lock a person out).
    second_factor = models.BooleanField(_("second factor by SMS"), default=False, db_default=False)

    class Meta:
        verbose_name = _("online account")
        verbose_name_plural = _("online accounts")
        indexes = [models.Index(fields=["opened_at"], name="account_opened_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AccountStatus.values), name="account_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.get_status_display()}"


class CodePurpose(models.TextChoices):
    ACTIVATION = "activation", _("account activation")
    SECOND_FACTOR = "second_factor", _("second factor")
    PASSWORD_RESET = "password_reset", _("password reset")
    CONTACT_CHANGE = "contact_change", _("e-mail or phone change")


class CodeDelivery(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-mail")
    LETTER = "letter", _("letter")


class OneTimeCode(models.Model):
    """A code sent to a person to prove they hold a phone, an e-mail address or a postal address.

    Only a hash of the code is kept. The public `challenge` identifies the code in the form that confirms it.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="one_time_codes")
    purpose = models.CharField(_("purpose"), max_length=16, choices=CodePurpose.choices)
    delivery = models.CharField(_("delivery"), max_length=8, choices=CodeDelivery.choices)
    challenge = models.CharField(max_length=43, unique=True)
    code_hash = models.CharField(max_length=64)
    # Where it was sent (E.164 phone, e-mail, "postal address"), and for a contact change the new value.
    target = models.CharField(_("sent to"), max_length=254)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["person", "purpose", "created_at"], name="otc_person_purpose_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=CodePurpose.values), name="otc_purpose_known"),
            models.CheckConstraint(condition=Q(delivery__in=CodeDelivery.values), name="otc_delivery_known"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="otc_expiry_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} → {self.target}"


class ExternalIdentity(models.Model):
    """An identity of a FranceConnect-style provider linked to an account, once the person confirmed it is them."""

    provider = models.CharField(_("provider"), max_length=32)
    subject = models.CharField(_("subject (sub)"), max_length=255)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="external_identities")
    linked_at = models.DateTimeField(_("linked at"))

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"
