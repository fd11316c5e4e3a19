"""Text helpers shared by every app."""

import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of a name, for searches tolerant of accents and case."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.replace("-", " ").replace("'", " ").lower().split())


# The characters no text accepted by the platform may hold: the C0 control characters except tab, line feed and
# carriage return, and DEL. NUL cannot be stored by PostgreSQL at all; the others have no place in a name, a note
# or an address and can disguise what a person or an agent reads (terminal escapes, backspaces). C1 controls
# (U+0080-U+009F) are let through: they are what mis-decoded Windows-1252 text from older systems holds.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(text: str) -> str | None:
    """The first control character the platform refuses in `text`, or None."""
    found = CONTROL_CHARACTERS.search(text)
    return None if found is None else found.group()


def control_character_reason(char: str) -> str:
    """Why a text holding `char` (a control character) is refused, naming it: "... U+0000"."""
    return _("must not contain the control character %(code)s") % {"code": f"U+{ord(char):04X}"}


def printable_name(name: str) -> str:
    """A field or parameter name fit to be shown, its control characters escaped (JSON style)."""
    return json.dumps(name)[1:-1] if control_character(name) else name


def check_text(fields: dict[str, str], name: str, value: object, max_length: int) -> str | None:
    """A string of at most max_length characters without control characters (NUL above all: PostgreSQL cannot
    store it); otherwise the reason is recorded under the field's name and None returned. Requests are already
    checked by core.middleware.RefuseNulBytes: this covers commands and batches read from files."""
    if not isinstance(value, str) or len(value) > max_length:
        fields[name] = _("must be a text of at most %(n)d characters") % {"n": max_length}
        return None
    char = control_character(value)
    if char is not None:
        fields[name] = control_character_reason(char)
        return None
    return value


# The most rows one ingestion batch (API call or file chunk) may carry: its rows are checked and written together.
MAX_BATCH_ROWS = 10_000


def ndjson_lines(text: str) -> Iterator[str]:
    """The non-blank lines of an NDJSON text, split on line feeds only (a JSON string may hold U+2028 or a form
    feed, where str.splitlines would also split)."""
    for line in text.split("\n"):
        if line.strip():
            yield line


def parse_batch_rows(body: bytes, content_type: str, *, not_a_list: str) -> list[Any]:
    """The rows of a batch sent to an ingestion endpoint: a JSON array, or NDJSON (one object per line).
    `not_a_list` is the message when the JSON is not an array (it names what the batch holds)."""
    from omniguichet.core.errors import InvalidInput

    try:
        text = body.decode("utf-8")
        if "ndjson" in content_type or "jsonlines" in content_type:
            return [json.loads(line) for line in ndjson_lines(text)]
        data = json.loads(text)
    except UnicodeDecodeError:
        raise InvalidInput.from_fields({"body": _("is not UTF-8 text")}) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput.from_fields({"body": _("is not valid JSON: %(e)s") % {"e": exc}}) from None
    if not isinstance(data, list):
        raise InvalidInput.from_fields({"body": not_a_list})
    return data
