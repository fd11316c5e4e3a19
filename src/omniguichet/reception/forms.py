"""The reception pages' forms (django-dsfr rendering): the kiosk's ticket (an appointment's code, or the NIR and
birth date, or nothing), the desk's call-next and the closing of a visit (on the desk and on the person's record).
The NIR, the birth date, the desk and the note are the model fields' own form fields (the admin refuses the same
values with the same message); which motive and outcome, and a NIR with its birth date, are the services' to
say: their refusals come back under their field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from omniguichet.core.forms import PlatformForm
from omniguichet.crm.models import Contact, Outcome
from omniguichet.reception.models import Ticket
from omniguichet.referential.models import Person


def _model_field(model: Any, name: str, **kwargs: Any) -> forms.Field:
    field = model._meta.get_field(name).formfield(**kwargs)
    assert field is not None
    return field


def _motive_choices(motives: list, *, empty: bool) -> list[tuple[str, Any]]:
    return ([("", "—")] if empty else []) + [(m.code, m.label) for m in motives]


class KioskTicketForm(PlatformForm):
    code = forms.CharField(
        label=gettext_lazy("Scan the QR code of your confirmation, or type its code"), required=False,
        max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )  # fmt: skip
    nir = _model_field(
        Person, "nir", label=gettext_lazy("Social security number (15 digits)"), required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )  # fmt: skip
    birth_date = _model_field(
        Person, "birth_date", label=gettext_lazy("Birth date"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("is not a date")},
    )  # fmt: skip
    motive = forms.CharField(
        label=gettext_lazy("Reason of your visit (not needed with an appointment)"), required=False,
        max_length=40, widget=forms.Select,
    )  # fmt: skip
    priority = forms.BooleanField(
        label=gettext_lazy("I need priority (disability, pregnancy, reduced mobility)"), required=False,
        widget=forms.CheckboxInput(attrs={"value": "yes"}),
    )  # fmt: skip

    def __init__(self, *args: Any, motives: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="%s", **kwargs)
        self.fields["motive"].widget.choices = _motive_choices(motives, empty=True)


class CallNextForm(PlatformForm):
    desk = _model_field(Ticket, "desk", label=gettext_lazy("Desk"))


class CloseVisitForm(PlatformForm):
    """The visit's outcome, its motive (the ticket's by default), a note; on the desk, the person identified there
    for a walk-in (`identify`)."""

    outcome = forms.CharField(label=gettext_lazy("Outcome"), required=False, widget=forms.Select)
    motive = forms.CharField(label=gettext_lazy("Motive"), required=False, max_length=40, widget=forms.Select)
    person_id = forms.IntegerField(
        label=gettext_lazy("Person identified at the desk (record number, optional)"), required=False,
        min_value=1, max_value=2**63 - 1, widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )  # fmt: skip
    note = _model_field(
        Contact, "note", label=gettext_lazy("Note"), required=False, max_length=4000,
        widget=forms.TextInput(attrs={"maxlength": 4000}),
    )  # fmt: skip

    def __init__(self, *args: Any, motives: list, identify: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].widget.choices = Outcome.choices
        self.fields["motive"].widget.choices = _motive_choices(motives, empty=False)
        if not identify:
            del self.fields["person_id"]
