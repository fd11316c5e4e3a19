"""Input fields and audiences several services of the catalogue share."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from omniguichet.teleservices.services.declaration import (
    AUDIENCE_INSURED,
    InputField,
)

_DATE_FROM = InputField(
    "date_from", gettext_lazy("From"), kind="date", required=False, hint=gettext_lazy("DD/MM/YYYY")
)


_DATE_TO = InputField(
    "date_to", gettext_lazy("To"), kind="date", required=False, hint=gettext_lazy("DD/MM/YYYY")
)


_INSURED = frozenset({AUDIENCE_INSURED})
