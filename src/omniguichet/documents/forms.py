"""The deposit pages' form (django-dsfr rendering), on the web account, at the kiosk and for the agent: the
document type among those the request expects and the files. The deposit service says what is wrong (the type
for this request, each file's checks, a closed request); its refusals come back under their field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from omniguichet.core.forms import PlatformForm, files_field

FILES_HELP = gettext_lazy("PDF, JPEG or PNG; 10 MB at most per file. Several files are allowed.")


class DepositForm(PlatformForm):
    kind = forms.CharField(required=False, widget=forms.HiddenInput)
    ref = forms.CharField(required=False, widget=forms.HiddenInput)
    # One key per page shown: a double submit (or a resent form) makes one deposit.
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)
    document_type = forms.CharField(label=gettext_lazy("Document type"), required=False, widget=forms.Select)
    files = files_field(gettext_lazy("Files"), FILES_HELP)

    def __init__(self, *args: Any, types: list[tuple[str, Any]], kiosk: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="%s", **kwargs)
        field = self.fields["document_type"]
        if kiosk:
            # The types as large touch tiles (documents/kiosk.css), drawn by the field's own template.
            field.widget = forms.RadioSelect(choices=[(v, capfirst(label)) for v, label in types])
            field.template_name = "documents/_kiosk_type_field.html"
            if types and not self.is_bound:
                field.initial = types[0][0]
            self.fields["files"].label = gettext_lazy("Place the document in the scanner, or choose the file")
        else:
            field.widget.choices = types
