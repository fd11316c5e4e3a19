"""Field validators of secure messaging, carried by the model fields: the admin, the forms, the API and the
services refuse the same values with the same message."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from omniguichet.outreach.templating import placeholders

# What a reply template may refer to; filled from the thread when an agent picks the template.
REPLY_VARIABLES = (
    "first_name",
    "last_name",
    "full_name",
    "case_reference",
    "case_status",
    "decision_date",
    "caisse_name",
)


def validate_message_body(value: str) -> None:
    if not value.strip():
        raise ValidationError(_("the message is empty"), code="empty")


def validate_reply_template(value: str) -> None:
    try:
        names = placeholders(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="malformed") from None
    unknown = sorted(set(names) - set(REPLY_VARIABLES))
    if unknown:
        raise ValidationError(
            _("unknown variables: %(names)s (allowed: %(allowed)s)")
            % {"names": ", ".join(unknown), "allowed": ", ".join(f"{{{n}}}" for n in REPLY_VARIABLES)},
            code="unknown_variable",
        )
