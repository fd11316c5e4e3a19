"""Text helpers shared by every app."""

import json
import unicodedata
from typing import Any

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


def parse_batch_rows(body: bytes, content_type: str, *, not_a_list: str) -> list[Any]:
    """The rows of a batch sent to an ingestion endpoint: a JSON array, or NDJSON (one object per line).
    `not_a_list` is the message when the JSON is not an array (it names what the batch holds)."""
    from omniguichet.core.errors import InvalidInput

    try:
        text = body.decode("utf-8")
        if "ndjson" in content_type or "jsonlines" in content_type:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except UnicodeDecodeError:
        raise InvalidInput.from_fields({"body": _("is not UTF-8 text")}) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput.from_fields({"body": _("is not valid JSON: %(e)s") % {"e": exc}}) from None
    if not isinstance(data, list):
        raise InvalidInput.from_fields({"body": not_a_list})
    return data
