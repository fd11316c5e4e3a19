"""Page forms of the platform: Django forms rendered with django-dsfr's form templates, whose fields carry the
validators of the model fields (a value is refused with the same message by the admin, the API and the page).
Rules spanning several fields stay in the services: a ServiceError they raise goes back onto the form."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from dsfr.forms import DsfrBaseForm

from omniguichet.core.errors import InvalidInput, ServiceError


class PlatformForm(DsfrBaseForm):
    """A DSFR form whose refusals by the services are shown like its own: field messages under their inputs,
    the message of a refusal (locked, conflict...) on top, through `refuse()`."""

    message: str = ""
    # A service's name for a field -> the form's (a booking's "start" is the form's chosen "slot").
    service_fields: ClassVar[dict[str, str]] = {}

    def get_context(self) -> dict[str, Any]:
        # django-dsfr marks optional fields (the DSFR's current advice) once told to: said here rather than by a
        # transitional setting, which it warns about.
        context = forms.Form.get_context(self)
        context["DSFR_MARK_OPTIONAL_FIELDS"] = True
        return context

    def values(self) -> dict[str, Any]:
        """What to hand to the service: each field's cleaned value, or what was typed where the field refused it,
        so that the service still says what is wrong with the other fields (a form answers every field at once)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned[name] if name in cleaned else self.data.get(name, "") for name in self.fields}

    def refuse(self, exc: ServiceError) -> None:
        for service_name, reason in exc.fields.items():
            name = self.service_fields.get(service_name, service_name)
            if name in self.errors:  # the field's own validator said it first, with the same message
                continue
            self.add_error(name if name in self.fields else None, reason)
        if not isinstance(exc, InvalidInput):
            self.message = exc.message

    def field_errors(self) -> dict[str, str]:
        """Field -> its first message (what the pages' summary counts)."""
        return {name: str(errors[0]) for name, errors in self.errors.items() if errors}
