"""The basket console's bulk form (django-dsfr rendering): the reason a rejection or a transfer needs, and the
basket a transfer goes to. The items are the checked rows (`items`, outside the form's markup) and the action is
the button pressed; the services refuse what is wrong, and their refusals come back under the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from omniguichet.core.forms import PlatformForm


class BulkActionForm(PlatformForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason (rejection or transfer)"), max_length=300, required=False
    )
    to_basket = forms.TypedChoiceField(label=gettext_lazy("Transfer to"), coerce=int, required=False)

    def __init__(self, *args: Any, targets: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, auto_id="%s", **kwargs)
        self.fields["to_basket"].choices = [(b.pk, capfirst(b.get_kind_display())) for b in targets]
