"""Parsing the phone platform's event lines (NDJSON or a JSON array): a parsed event or reasons by field."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from omniguichet.core.errors import InvalidInput
from omniguichet.core.text import check_text, ndjson_lines
from omniguichet.telephony.models import CallDirection, EventKind
from omniguichet.telephony.services.common import EARLIEST_EVENT, FUTURE_TOLERANCE, RANK


@dataclass
class LineResult:
    line: int
    status: str  # stored, duplicate, held, error
    call_id: str | None = None
    event: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        error = None
        if self.fields:
            message = "; ".join(f"{name}: {reason}" for name, reason in self.fields.items())
            error = {"code": "invalid", "message": message, "fields": self.fields}
        return {"line": self.line, "call_id": self.call_id, "event": self.event, "status": self.status,
                "error": error}  # fmt: skip


@dataclass
class ParsedEvent:
    call_id: str
    event: str
    at: dt.datetime
    from_number: str
    to_number: str
    direction: str
    ivr_choice: str
    agent_login: str


@functools.lru_cache(maxsize=65_536)
def normalise_number(value: str) -> str:
    """A phone number in E.164 (French numbers may be written nationally), or "" when it is none (withheld,
    malformed): such a caller is simply not identified."""
    from django.core.exceptions import ValidationError

    from omniguichet.referential.validators import validate_phone_number

    try:
        return validate_phone_number(value)
    except ValidationError:
        return ""


def _text(fields: dict[str, str], name: str, value: Any, max_length: int, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            fields[name] = _("is required")
        return ""
    text = check_text(fields, name, value, max_length)
    if text is not None and required and not text.strip():
        fields[name] = _("is required")
    return (text or "").strip()


def _time(fields: dict[str, str], value: Any, now: dt.datetime) -> dt.datetime | None:
    if value is None or value == "":
        fields["at"] = _("is required")
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:  # well-formed but impossible, e.g. a 13th month
        parsed = None
    if parsed is None:
        fields["at"] = _("is not an ISO 8601 date and time")
    elif timezone.is_naive(parsed):
        fields["at"] = _("needs a time zone offset (ISO 8601, e.g. 2026-03-01T09:30:00+01:00)")
    elif parsed < EARLIEST_EVENT:
        fields["at"] = _("is before 2000")
    elif parsed > now + FUTURE_TOLERANCE:
        fields["at"] = _("is in the future")
    else:
        return parsed
    return None


def parse_event(row: Any, *, now: dt.datetime | None = None) -> tuple[ParsedEvent | None, dict[str, str]]:
    """One event line checked: the parsed event, or None and the reasons by field. Never raises."""
    now = now or timezone.now()
    fields: dict[str, str] = {}
    if not isinstance(row, dict):
        return None, {"line": _("must be a JSON object")}
    call_id = _text(fields, "call_id", row.get("call_id"), 64, required=True)
    event = row.get("event")
    if not isinstance(event, str) or event not in RANK:
        fields["event"] = _("unknown event (one of %(all)s)") % {"all": ", ".join(RANK)}
        event = ""
    at = _time(fields, row.get("at"), now)
    direction = row.get("direction", CallDirection.INBOUND)
    if direction not in CallDirection.values:
        fields["direction"] = _("must be inbound or outbound")
    raw_from = _text(fields, "from", row.get("from"), 40, required=False)
    raw_to = _text(fields, "to", row.get("to"), 40, required=False)
    ivr_choice = _text(fields, "ivr_choice", row.get("ivr_choice"), 16, required=event == EventKind.IVR)
    agent_login = _text(fields, "agent", row.get("agent"), 150, required=event == EventKind.ANSWER)
    if fields:
        return None, fields
    assert at is not None
    parsed = ParsedEvent(
        call_id=call_id, event=event, at=at, from_number=normalise_number(raw_from) if raw_from else "",
        to_number=normalise_number(raw_to) if raw_to else "", direction=direction, ivr_choice=ivr_choice,
        agent_login=agent_login if event == EventKind.ANSWER else "",
    )  # fmt: skip
    return parsed, {}


def check_content_type(content_type: str) -> None:
    """NDJSON or JSON only: anything else (a form, multipart) is refused before its body is read."""
    if "json" not in content_type:
        raise InvalidInput.from_fields(
            {"body": _("must be sent as application/x-ndjson or application/json")}
        )


def parse_lines(body: bytes, content_type: str) -> list[Any]:
    """The rows of a batch: NDJSON (one object per line; a line that is not JSON becomes an error of that line
    only) or a JSON array. A row that could not be read is an `InvalidLine`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.from_fields({"body": _("is not UTF-8 text")}) from None
    if "ndjson" in content_type or "jsonlines" in content_type:
        rows: list[Any] = []
        for line in ndjson_lines(text):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                rows.append(InvalidLine(_("is not valid JSON: %(e)s") % {"e": exc}))
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput.from_fields({"body": _("is not valid JSON: %(e)s") % {"e": exc}}) from None
    if not isinstance(data, list):
        raise InvalidInput.from_fields({"body": _("must be a JSON array of call events, or NDJSON")})
    return data


@dataclass(frozen=True)
class InvalidLine:
    reason: str
