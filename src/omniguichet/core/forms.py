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
            # A hidden field's refusal (a link's reference, a key) goes on top: there is nothing to correct under it.
            shown = name in self.fields and not self.fields[name].widget.is_hidden
            self.add_error(name if shown else None, reason)
        if not isinstance(exc, InvalidInput):
            self.message = exc.message

    def field_errors(self) -> dict[str, str]:
        """Field -> its first message (what the pages' summary counts)."""
        return {name: str(errors[0]) for name, errors in self.errors.items() if errors}


class MultipleFileInput(forms.ClearableFileInput):
    """Several files in one input, drawn as the DSFR's upload group."""

    allow_multiple_selected = True
    group_class = "fr-upload-group"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"class": "fr-upload", **(attrs or {})})


class MultipleFileField(forms.FileField):
    """Several files: each cleaned as a file field cleans one. An empty file goes on: the documents' checks
    refuse it, with the words they use on every channel."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_empty_file=True, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return super().clean(data, initial)


def files_field(
    label: Any, help_text: Any, *, accept: str = "application/pdf,image/jpeg,image/png"
) -> forms.Field:
    """Several files, read by the view from request.FILES and checked by the documents' checks (the service says
    "at least one file is needed", and what is wrong with each)."""
    return MultipleFileField(
        label=label, required=False, help_text=help_text, widget=MultipleFileInput(attrs={"accept": accept})
    )
