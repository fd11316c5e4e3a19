"""The online services' page forms, built from each service's declaration (django-dsfr rendering).

The declaration's fields become Django form fields: a text input, a date typed as DD/MM/YYYY, a list of choices,
a file, a hidden field (the second step of a code-confirmed change). What is wrong with a value is said by the
engine (`services.clean_input`), the same words for the web, the kiosk, the agent console and the API; the form
shows those refusals under their fields (`PlatformForm.refuse`). Like the account's forms, the fields are not
`required` here: the engine answers a missing value with its own message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from omniguichet.core.forms import PlatformForm
from omniguichet.teleservices.services import Teleservice

# Where browsers can help the person fill a field in (autocomplete tokens of the HTML standard).
_AUTOCOMPLETE = {"postcode": "postal-code", "code": "one-time-code", "iban": "off"}


def _field(spec: Any) -> forms.Field:
    common = {"label": spec.label, "required": False, "help_text": spec.hint or ""}
    if spec.kind == "choice":
        choices = list(spec.choices) if spec.required else [("", "—"), *spec.choices]
        return forms.ChoiceField(choices=choices, **common)
    if spec.kind == "file":
        return forms.FileField(
            widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
            **common,
        )
    attrs = {"autocomplete": _AUTOCOMPLETE[spec.kind]} if spec.kind in _AUTOCOMPLETE else {}
    if spec.kind == "code":
        attrs["inputmode"] = "numeric"
    return forms.CharField(widget=forms.TextInput(attrs=attrs), strip=False, **common)


def service_form(
    service: Teleservice,
    data: Any = None,
    files: Any = None,
    *,
    channels: list[tuple[str, Any]] | None = None,
) -> PlatformForm:
    """The service's form. The second step of a code-confirmed change (its form is on the result page) shows the
    code to type and keeps the rest hidden; when it comes back with an error it stays the second step. On the
    agent's console (`channels` given) it starts with the channel by which the person's request was received."""
    second_step = bool(data and data.get("challenge")) and "challenge" in service.field_map()
    fields: dict[str, forms.Field] = {}
    if channels is not None:
        fields["channel"] = forms.ChoiceField(label=gettext_lazy("Channel of the contact"), choices=channels)
    for spec in service.fields:
        if second_step and spec.name != "code":
            fields[spec.name] = forms.CharField(required=False, widget=forms.HiddenInput)
        elif not second_step and spec.name in ("challenge", "code"):
            continue
        else:
            fields[spec.name] = _field(spec)
    form_class = type(f"{service.code.title().replace('_', '')}Form", (PlatformForm,), fields)
    form = form_class(data or None, files or None)
    if second_step:
        # The code is typed again; the first step's values ride along, as they were sent.
        form.data = form.data.copy()
        form.data["code"] = ""
    return form
