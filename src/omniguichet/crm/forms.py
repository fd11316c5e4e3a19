"""The customer record's "add a contact" form (django-dsfr rendering). The note is the model field's own form
field; the channel, the motive, the outcome and the waiting time's range are the recording service's to say (the
same words as the API's and the imports'): its refusals come back under their field."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy

from omniguichet.core.forms import PlatformForm
from omniguichet.crm.models import Contact, Outcome


def _note_field() -> forms.Field:
    field = Contact._meta.get_field("note").formfield(
        label=gettext_lazy("Note"), required=False, widget=forms.TextInput(attrs={"maxlength": 4000})
    )
    assert field is not None
    return field


class ContactForm(PlatformForm):
    # The service speaks of seconds; the agent types minutes.
    service_fields: ClassVar[dict[str, str]] = {"waited_seconds": "waited_minutes"}

    purpose = forms.CharField(required=False, widget=forms.HiddenInput)
    channel = forms.CharField(label=gettext_lazy("Channel"), required=False, widget=forms.Select)
    motive = forms.CharField(label=gettext_lazy("Motive"), required=False, max_length=40, widget=forms.Select)
    outcome = forms.CharField(label=gettext_lazy("Outcome"), required=False, widget=forms.Select)
    waited_minutes = forms.IntegerField(
        label=gettext_lazy("Waited (min)"), required=False, widget=forms.NumberInput(attrs={"min": 0})
    )
    note = _note_field()

    def __init__(self, *args: Any, channels: list, motives: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="%s", **kwargs)
        self.fields["channel"].widget.choices = channels
        self.fields["motive"].widget.choices = [(m.code, m.label) for m in motives]
        self.fields["outcome"].widget.choices = Outcome.choices
