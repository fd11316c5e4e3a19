"""The online account's page forms (Django forms rendered with django-dsfr, their fields carrying the model
fields' validators), and the labels other channels' pages (the kiosk) reuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from omniguichet.accounts.models import CodeDelivery
from omniguichet.core.forms import PlatformForm
from omniguichet.referential.models import ConsentPurpose, Person, PreferredChannel


def code_label(delivery: str | None) -> Any:
    if delivery == CodeDelivery.EMAIL:
        return gettext_lazy("Code received by e-mail (6 digits)")
    return gettext_lazy("Code received by SMS (6 digits)")


def _nir_field() -> forms.Field:
    # The model field's form field: the same normalisation and validator as the admin and the API. Not required
    # here: an empty value goes on to the service, which answers it with the validator's own message.
    return Person._meta.get_field("nir").formfield(
        label=gettext_lazy("Social security number (13 digits + key)"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


class LoginForm(PlatformForm):
    nir = _nir_field()
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class IdentityForm(PlatformForm):
    """Who the person says they are: the NIR and the birth date (the password reset's first step)."""

    nir = _nir_field()
    # As typed: the service reads DD/MM/YYYY (or ISO) and says what is wrong, the same way on every channel.
    birth_date = forms.CharField(
        label=gettext_lazy("Birth date"),
        required=False,
        help_text=gettext_lazy("DD/MM/YYYY"),
        widget=forms.TextInput(attrs={"autocomplete": "bday"}),
    )


DELIVERY_CHOICES = [
    (CodeDelivery.SMS.value, gettext_lazy("By SMS to my verified mobile")),
    (CodeDelivery.LETTER.value, gettext_lazy("By letter to my postal address")),
]


class ActivationForm(IdentityForm):
    """The activation's first step: the identity, and how to receive the activation code."""

    # The choice is checked by the service ("choose SMS or letter"), like the API's.
    delivery = forms.CharField(
        label=gettext_lazy("How to receive your activation code"),
        initial=CodeDelivery.SMS.value,
        required=False,
        widget=forms.RadioSelect(choices=DELIVERY_CHOICES),
    )


def _code_field(label: Any = None) -> forms.Field:
    # The format ("6 digits") is the service's to say, like on the API: not required, no max length here.
    return forms.CharField(
        label=label or gettext_lazy("Code received (6 digits)"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _new_password_field(label: Any, help_text: Any = "") -> forms.Field:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class CodeForm(PlatformForm):
    """A one-time code (the login's second factor)."""

    code = _code_field()

    def __init__(self, *args: Any, label: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["code"].label = label
            self._bound_fields_cache.pop("code", None)  # drawn by django-dsfr's __init__ with the old label


class NewPasswordForm(PlatformForm):
    """The code received and the new password, twice (activation and password reset); with the NIR when the code
    came by letter, days later, in another session."""

    nir = _nir_field()
    code = _code_field()
    password = _new_password_field(
        gettext_lazy("New password"), gettext_lazy("At least 12 characters, not only digits")
    )
    password2 = _new_password_field(gettext_lazy("New password again"))

    def __init__(self, *args: Any, with_nir: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_nir:
            del self.fields["nir"]


class PreferencesForm(PlatformForm):
    """How the platform may reach the person, their consents and their second factor."""

    # The choice is checked by the service, with the API's message.
    preferred_channel = forms.CharField(
        label=gettext_lazy("Preferred channel"),
        required=False,
        widget=forms.Select(choices=PreferredChannel.choices),
    )
    e_documents = forms.BooleanField(
        label=gettext_lazy("Receive my documents in my account instead of paper letters"), required=False
    )
    sms_allowed = forms.BooleanField(label=gettext_lazy("SMS allowed"), required=False)
    email_allowed = forms.BooleanField(label=gettext_lazy("E-mails allowed"), required=False)
    paper_allowed = forms.BooleanField(label=gettext_lazy("Paper letters allowed"), required=False)
    second_factor = forms.BooleanField(
        label=gettext_lazy("Ask for a code by SMS at each login (second factor)"), required=False
    )

    def __init__(self, *args: Any, has_mobile: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One box per consent purpose, before the second factor (the purposes are the referential's).
        second_factor = self.fields.pop("second_factor")
        for purpose in ConsentPurpose:
            self.fields[f"consent_{purpose.value}"] = forms.BooleanField(label=purpose.label, required=False)
        self.fields["second_factor"] = second_factor
        if not has_mobile:
            second_factor.help_text = gettext_lazy("Needs a verified mobile number")
        self._bound_fields_cache.clear()  # django-dsfr drew the fields before these changes

    @classmethod
    def initial_of(cls, prefs: Any) -> dict[str, Any]:
        p = prefs.preference
        return {
            "preferred_channel": p.preferred_channel,
            "e_documents": p.e_documents,
            "sms_allowed": p.sms_allowed,
            "email_allowed": p.email_allowed,
            "paper_allowed": p.paper_allowed,
            "second_factor": prefs.second_factor,
            **{f"consent_{c}": prefs.consents.get(c, False) for c in ConsentPurpose.values},
        }
