"""The appointment pages' forms (django-dsfr rendering): the person's booking and waiting list, the agent's
booking on a person's behalf. The phone and the waiting list's dates are the model fields' own form fields (the
admin refuses the same values with the same message); the motive, the site, the case and the channel are checked
by the booking services, whose refusals come back under their field through `refuse()`."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from django import forms
from django.db import models
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy

from omniguichet.appointments.models import Appointment, WaitingListEntry
from omniguichet.core.forms import PlatformForm


class SlotField(forms.CharField):
    """The slot chosen among the free slots' radio buttons (an htmx fragment): "<site id>|<ISO start>", cleaned
    to (site id, start). Its radios are drawn by `appointments/_slots.html`, not by the field."""

    default_error_messages: ClassVar[dict[str, Any]] = {
        "required": gettext_lazy("choose a slot"),
        "invalid": gettext_lazy("choose a slot"),
    }

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        site, _sep, start = value.partition("|")
        parsed = None
        with contextlib.suppress(ValueError):
            parsed = parse_datetime(start)
        if parsed is None or not site.isdigit() or len(site) > 18:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(site), parsed


def _choices(field: forms.Field, choices: list[tuple[Any, Any]]) -> None:
    field.widget.choices = choices


def _phone_field(label: Any, help_text: Any = "") -> forms.Field:
    field = Appointment._meta.get_field("phone").formfield(
        label=label,
        help_text=help_text,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "maxlength": 20, "autocomplete": "tel"}),
    )
    assert field is not None
    return field


def _date_field(name: str, label: Any) -> forms.Field:
    # The model field's form field, with the words the page has always used (a browser without a date picker
    # shows a text box: the expected format is said).
    required = gettext_lazy("a date is required (YYYY-MM-DD)")
    model_field = WaitingListEntry._meta.get_field(name)
    assert isinstance(model_field, models.DateField)
    field = model_field.formfield(
        label=label,
        widget=forms.DateInput(attrs={"type": "date", "id": name}, format="%Y-%m-%d"),
        error_messages={"required": required, "invalid": required},
    )
    assert field is not None
    return field


def _case_choices(cases: list, *, with_status: bool = False) -> list[tuple[str, Any]]:
    def label(case: Any) -> str:
        text = f"{case.get_case_type_display().capitalize()} ({case.reference})"
        return f"{text} · {case.get_status_display()}" if with_status else text

    return [("", gettext_lazy("No particular case"))] + [(c.reference, label(c)) for c in cases]


class _BookingForm(PlatformForm):
    service_fields: ClassVar[dict[str, str]] = {"start": "slot"}

    slot = SlotField(label=gettext_lazy("Free slots"))


class BookingForm(_BookingForm):
    """The person books for themselves: the motive, where, from when (these three reload the free slots), the
    number to call back, one of their open cases."""

    case_ref = forms.CharField(
        label=gettext_lazy("About one of my cases (optional)"), required=False, max_length=40,
        widget=forms.Select,
    )  # fmt: skip
    motive = forms.CharField(
        label=gettext_lazy("Why do you want to meet us?"), max_length=40, widget=forms.Select
    )
    site = forms.CharField(label=gettext_lazy("Where"), required=False, widget=forms.Select)
    phone = _phone_field(
        gettext_lazy("Phone number to call back (phone appointments)"),
        gettext_lazy("By default, your mobile number on file."),
    )

    def __init__(self, *args: Any, motives: list, sites: list, cases: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="%s", **kwargs)
        self.fields["from"] = forms.DateField(
            label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        if cases:
            _choices(self.fields["case_ref"], _case_choices(cases))
        else:  # a case named by the link that opened the page (or none)
            self.fields["case_ref"].widget = forms.HiddenInput()
        _choices(
            self.fields["motive"],
            [("", gettext_lazy("Choose a motive"))]
            + [(m.code, f"{m.label} ({m.get_mode_display()}, {m.duration_minutes} min)") for m in motives],
        )
        _choices(
            self.fields["site"],
            [("", gettext_lazy("Any site of my caisse"))] + [(s.pk, s.name) for s in sites],
        )


class AgentBookingForm(_BookingForm):
    """The agent books for a person of their caisse, by phone or at the reception desk."""

    motive = forms.CharField(label=gettext_lazy("Motive"), max_length=40, widget=forms.Select)
    site = forms.CharField(label=gettext_lazy("Site"), required=False, widget=forms.Select)  # the slot's says
    channel = forms.CharField(
        label=gettext_lazy("Booked by"), required=False, max_length=12, widget=forms.Select
    )
    phone = _phone_field(gettext_lazy("Call-back number"))
    case_ref = forms.CharField(
        label=gettext_lazy("About the case"), required=False, max_length=40, widget=forms.Select
    )

    def __init__(
        self, *args: Any, motives: list, sites: list, cases: list, channels: list, **kwargs: Any
    ) -> None:
        super().__init__(*args, auto_id="%s", **kwargs)
        _choices(
            self.fields["motive"],
            [("", "—")] + [(m.code, f"{m.label} ({m.get_mode_display()})") for m in motives],
        )
        _choices(self.fields["site"], [(s.pk, s.name) for s in sites])
        _choices(self.fields["channel"], channels)
        if cases:
            _choices(self.fields["case_ref"], _case_choices(cases, with_status=True))
        else:
            del self.fields["case_ref"]


class WaitingListForm(PlatformForm):
    """Join the waiting list for a motive at a site between two dates (the order of the dates, the delays and
    "already on the list" are the service's to say)."""

    motive = forms.CharField(label=gettext_lazy("Motive"), max_length=40, widget=forms.Select)
    site = forms.CharField(label=gettext_lazy("Site"), widget=forms.Select)
    earliest = _date_field("earliest", gettext_lazy("From"))
    latest = _date_field("latest", gettext_lazy("To"))

    def __init__(self, *args: Any, motives: list, sites: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="waiting-%s", **kwargs)
        _choices(self.fields["motive"], [(m.code, m.label) for m in motives])
        _choices(self.fields["site"], [(s.pk, s.name) for s in sites])


class CallbackOutcomeForm(PlatformForm):
    """One row of the day's call-backs: how the call went and a note. One form per row (ids suffixed with the
    appointment's), so a refused note comes back under its own row."""

    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=4000, required=False)

    def __init__(
        self, *args: Any, appointment_id: int, outcomes: list[tuple[str, Any]], **kwargs: Any
    ) -> None:
        super().__init__(*args, auto_id=f"%s-{appointment_id}", **kwargs)
        self.fields["outcome"].choices = outcomes
        self.error_id = f"callback-{appointment_id}-error"
        for name, field in self.fields.items():
            field.widget.attrs["aria-label"] = str(field.label)
            field.widget.attrs["class"] = "fr-select fr-col" if name == "outcome" else "fr-input fr-col"

    def mark_refused(self) -> None:
        """Its inputs say they are invalid and name the row's error line (read out by screen readers)."""
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": self.error_id}
                )
