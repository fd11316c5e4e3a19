"""The online account (compte). Login, activation and preferences arrive with the account issue."""

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
    # The login of the account (set when the person activates it; the online-account issue builds that).
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="account"
    )
    opened_at = models.DateTimeField(_("opened at"))
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )

    class Meta:
        verbose_name = _("online account")
        verbose_name_plural = _("online accounts")
        indexes = [models.Index(fields=["opened_at"], name="account_opened_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AccountStatus.values), name="account_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.get_status_display()}"
