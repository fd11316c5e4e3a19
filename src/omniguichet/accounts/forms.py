"""The online account's page forms (Django forms rendered with django-dsfr, their fields carrying the model
fields' validators), and the labels other channels' pages (the kiosk) reuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from omniguichet.accounts.models import CodeDelivery
from omniguichet.core.forms import PlatformForm
from omniguichet.referential.models import Person


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
