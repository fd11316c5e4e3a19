"""Field validators of the record's models."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

WORK_ITEM_KIND = re.compile(r"[a-z][a-z0-9_]{1,29}")


def validate_work_item_kind(value: str) -> None:
    """A kind of work item ("message", "email", "document", "returned_letter"...): free for kinds to come, but a
    code: lower-case letters, digits and underscores, starting with a letter."""
    if not isinstance(value, str) or not WORK_ITEM_KIND.fullmatch(value):
        raise ValidationError(
            _("lower-case letters, digits and _ only, starting with a letter (2 to 30)"), code="invalid"
        )
