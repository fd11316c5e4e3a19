"""Text helpers shared by every app."""

import unicodedata

from django.utils.translation import gettext as _


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of a name, for searches tolerant of accents and case."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.replace("-", " ").replace("'", " ").lower().split())


def check_text(fields: dict[str, str], name: str, value: object, max_length: int) -> str | None:
    """A string of at most max_length characters without NUL (PostgreSQL cannot store it); otherwise the reason
    is recorded under the field's name and None returned."""
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        fields[name] = _("must be a text of at most %(n)d characters") % {"n": max_length}
        return None
    return value
