"""The deposit pages' forms (django-dsfr rendering), on the web account, at the kiosk and for the agent (who
also asks a person for documents): the document type among those the request expects and the files. The
deposit service says what is wrong (the type for this request, each file's checks, a closed request); its
refusals come back under their field."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from omniguichet.core.forms import PlatformForm, files_field
from omniguichet.documents.models import DocumentType

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


class AgentDepositForm(PlatformForm):
    """An agent deposits on behalf of a person of their caisse: for which of their open requests, received how."""

    # The service speaks of the purpose's kind and reference: both are the chosen request here.
    service_fields: ClassVar[dict[str, str]] = {"purpose_kind": "ref", "purpose_ref": "ref"}

    form = forms.CharField(required=False, initial="deposit", widget=forms.HiddenInput)
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)
    ref = forms.CharField(label=gettext_lazy("For the request"), required=False, widget=forms.Select)
    document_type = forms.CharField(
        label=gettext_lazy("Document type"), required=False, widget=forms.Select(choices=DocumentType.choices)
    )
    channel = forms.CharField(label=gettext_lazy("Received by"), required=False, widget=forms.Select)
    files = files_field(gettext_lazy("Files"), FILES_HELP)

    def __init__(self, *args: Any, requests: list, channels: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="%s", **kwargs)
        self.fields["ref"].widget.choices = [(f"{r.kind}:{r.ref}", r.purpose.label) for r in requests]
        self.fields["channel"].widget.choices = channels


class AskForm(PlatformForm):
    """An agent asks a person for documents (the label and the types are the service's to check, as on the API)."""

    form = forms.CharField(required=False, initial="ask", widget=forms.HiddenInput)
    label = forms.CharField(
        label=gettext_lazy("What for (shown to the person)"), required=False,
        widget=forms.TextInput(attrs={"maxlength": 200}),
    )  # fmt: skip
    document_types = forms.MultipleChoiceField(
        label=gettext_lazy("Documents expected"), required=False, choices=DocumentType.choices,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="ask_%s", **kwargs)
