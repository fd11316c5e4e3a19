"""Parsing and validating event rows (API, NDJSON, CSV files): one result per row, with the field and the reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from omniguichet.cases.models import (
    CaseType,
    EventType,
)
from omniguichet.cases.services.common import (
    _CASE_TYPES,
    _CHANNELS,
    _EVENT_TYPES,
    CASE_REFERENCE_RE,
    DOCUMENT_CODE_RE,
    EARLIEST_EVENT,
    FUTURE_TOLERANCE,
    INGEST_ROLES,
    MAX_AMOUNT,
    MAX_ID,
    _member,
)
from omniguichet.core.actors import CONTACT_CHANNEL_VALUES, Actor, ActorKind
from omniguichet.core.errors import Forbidden, collect
from omniguichet.core.text import check_text, parse_batch_rows
from omniguichet.referential import validators


@dataclass
class RowResult:
    index: int
    event_id: str | None
    status: str  # applied, held, duplicate, rejected
    case_reference: str | None = None
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedEvent:
    result: RowResult
    event_id: str
    reference: str
    sequence: int
    event_type: str
    occurred_at: dt.datetime
    payload: dict[str, Any]


@dataclass
class IngestReport:
    results: list[RowResult]
    released: int = 0  # events held by an earlier batch and applied by this one

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def _date(fields: dict[str, str], name: str, value: Any, *, required: bool = False) -> str | None:
    if value in (None, ""):
        if required:
            fields[name] = _("is required")
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or not (1990 <= parsed.year <= 2200):
        fields[name] = _("is not a date (YYYY-MM-DD)")
        return None
    return parsed.isoformat()


def _text(fields: dict[str, str], name: str, value: Any, max_length: int, *, required: bool = False) -> str:
    if value in (None, "") and not required:
        return ""
    text = check_text(fields, name, value, max_length)
    if text is not None and not text.strip():
        fields[name] = _("is required")
    return (text or "").strip()


def _document_code(fields: dict[str, str], name: str, value: Any) -> str:
    if not isinstance(value, str) or not DOCUMENT_CODE_RE.match(value):
        fields[name] = _("must be a document code (lower-case letters, digits, - and _; at most 40)")
        return ""
    return value


def _channel(fields: dict[str, str], name: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    if not _member(value, _CHANNELS):
        fields[name] = _("unknown channel (one of %(all)s)") % {"all": ", ".join(CONTACT_CHANNEL_VALUES)}
        return ""
    return str(value)


def _amount(fields: dict[str, str], name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        fields[name] = _("is required: an amount in euros like 123.45")
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if (
        not amount.is_finite()
        or amount <= 0
        or amount >= MAX_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        fields[name] = _("must be a positive amount in euros with at most 2 decimals")
        return None
    return str(amount.quantize(Decimal("0.01")))


PAYLOAD_KEYS: dict[str, frozenset[str]] = {
    EventType.OPENED: frozenset({"person_id", "nir", "case_type", "expected_decision_on", "channel"}),
    EventType.DOCUMENT_MISSING: frozenset({"document", "label", "due_on"}),
    EventType.DOCUMENT_RECEIVED: frozenset({"document", "channel"}),
    EventType.EXPECTED_DATE_CHANGED: frozenset({"expected_decision_on"}),
    EventType.DECISION: frozenset({"outcome", "reason"}),
    EventType.PAYMENT: frozenset({"amount", "paid_on", "period_from", "period_to"}),
    EventType.CARD_SHIPPED: frozenset({"card"}),
    EventType.CLOSED: frozenset({"reason"}),
}


def _check_payload(fields: dict[str, str], event_type: str, payload: Any) -> dict[str, Any]:
    """The payload of one event type, checked and normalised (field names are prefixed with "payload.")."""
    if not isinstance(payload, dict):
        fields["payload"] = _("must be a JSON object")
        return {}
    unknown = sorted(set(payload) - PAYLOAD_KEYS[event_type])
    if unknown:
        fields["payload"] = _("unknown fields for %(type)s: %(names)s") % {
            "type": event_type,
            "names": ", ".join(str(u)[:40] for u in unknown[:5]),
        }
    out: dict[str, Any] = {}
    p = "payload."
    if event_type == EventType.OPENED:
        person_id, nir = payload.get("person_id"), payload.get("nir")
        if person_id is not None:
            if isinstance(person_id, int) and not isinstance(person_id, bool) and 0 < person_id <= MAX_ID:
                out["person_id"] = person_id
            else:
                fields[p + "person_id"] = _("must be a positive integer")
        elif nir is not None:
            checked = collect(fields, p + "nir", validators.validate_nir, str(nir)[:30])
            if checked:
                out["nir"] = checked
        else:
            fields[p + "person_id"] = _("person_id or nir is required")
        if not _member(payload.get("case_type"), _CASE_TYPES):
            fields[p + "case_type"] = _("must be one of %(all)s") % {"all": ", ".join(CaseType.values)}
        else:
            out["case_type"] = payload["case_type"]
        if (
            expected := _date(fields, p + "expected_decision_on", payload.get("expected_decision_on"))
        ) is not None:
            out["expected_decision_on"] = expected
        if channel := _channel(fields, p + "channel", payload.get("channel")):
            out["channel"] = channel
    elif event_type == EventType.DOCUMENT_MISSING:
        out["document"] = _document_code(fields, p + "document", payload.get("document"))
        out["label"] = _text(fields, p + "label", payload.get("label"), 120, required=True)
        if (due := _date(fields, p + "due_on", payload.get("due_on"))) is not None:
            out["due_on"] = due
    elif event_type == EventType.DOCUMENT_RECEIVED:
        out["document"] = _document_code(fields, p + "document", payload.get("document"))
        if channel := _channel(fields, p + "channel", payload.get("channel")):
            out["channel"] = channel
    elif event_type == EventType.EXPECTED_DATE_CHANGED:
        out["expected_decision_on"] = _date(
            fields, p + "expected_decision_on", payload.get("expected_decision_on"), required=True
        )
    elif event_type == EventType.DECISION:
        if payload.get("outcome") not in ("accepted", "refused"):
            fields[p + "outcome"] = _("must be accepted or refused")
        out["outcome"] = payload.get("outcome")
        if reason := _text(fields, p + "reason", payload.get("reason"), 200):
            out["reason"] = reason
    elif event_type == EventType.PAYMENT:
        out["amount"] = _amount(fields, p + "amount", payload.get("amount"))
        for name in ("paid_on", "period_from", "period_to"):
            if (value := _date(fields, p + name, payload.get(name))) is not None:
                out[name] = value
        if out.get("period_from") and out.get("period_to") and out["period_to"] < out["period_from"]:
            fields[p + "period_to"] = _("cannot be before period_from")
    elif event_type == EventType.CARD_SHIPPED:
        card = payload.get("card", "")
        if card not in ("", CaseType.VITALE_CARD, CaseType.EUROPEAN_CARD):
            fields[p + "card"] = _("must be vitale_card or european_card")
        elif card:
            out["card"] = card
    elif event_type == EventType.CLOSED and (
        reason := _text(fields, p + "reason", payload.get("reason"), 200)
    ):
        out["reason"] = reason
    return out


def _parse_row(index: int, row: Any, now: dt.datetime) -> RowResult | ParsedEvent:
    if not isinstance(row, dict):
        return RowResult(index, None, "rejected", errors={"row": _("must be a JSON object")})
    fields: dict[str, str] = {}
    event_id = check_text(fields, "event_id", row.get("event_id"), 64)
    if event_id is not None and not event_id.strip():
        fields["event_id"] = _("is required")
    reference = row.get("case_reference")
    if not isinstance(reference, str) or not CASE_REFERENCE_RE.match(reference):
        fields["case_reference"] = _("must be a case reference (letters, digits, . _ / -; at most 40)")
        reference = None
    sequence = row.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not (1 <= sequence <= 2_000_000_000):
        fields["sequence"] = _("must be a whole number from 1")
        sequence = None
    event_type = row.get("type")
    if not _member(event_type, _EVENT_TYPES):
        fields["type"] = _("unknown event type (one of %(all)s)") % {"all": ", ".join(EventType.values)}
        event_type = None
    occurred_raw = row.get("occurred_at")
    occurred_at = None
    try:
        occurred_at = parse_datetime(occurred_raw) if isinstance(occurred_raw, str) else None
    except ValueError:
        occurred_at = None
    if occurred_at is None:
        fields["occurred_at"] = _("is required: an ISO 8601 date and time with its offset")
    elif timezone.is_naive(occurred_at):
        fields["occurred_at"] = _("needs a time zone offset (ISO 8601, e.g. 2026-03-01T09:30:00+01:00)")
    elif occurred_at < EARLIEST_EVENT:
        fields["occurred_at"] = _("is before 1990")
    elif occurred_at > now + FUTURE_TOLERANCE:
        fields["occurred_at"] = _("is in the future")
    unknown = sorted(set(row) - {"event_id", "case_reference", "sequence", "type", "occurred_at", "payload"})
    if unknown:
        fields["row"] = _("unknown fields: %(names)s") % {
            "names": ", ".join(str(u)[:40] for u in unknown[:5])
        }
    payload: dict[str, Any] = {}
    if event_type is not None:
        payload = _check_payload(fields, event_type, row.get("payload", {}))
        if sequence is not None:
            if event_type == EventType.OPENED and sequence != 1:
                fields["sequence"] = _("the opened event is sequence 1")
            elif event_type != EventType.OPENED and sequence == 1:
                fields["sequence"] = _("sequence 1 is the opened event of the case")
    result = RowResult(index, event_id, "rejected", reference, errors=fields)
    if fields:
        return result
    assert event_id and reference and sequence and event_type and occurred_at
    return ParsedEvent(result, event_id, reference, sequence, event_type, occurred_at, payload)


def parse_event_rows(body: bytes, content_type: str) -> list[Any]:
    """A JSON array, or NDJSON (one object per line)."""
    return parse_batch_rows(
        body, content_type, not_a_list=_("must be a JSON array of case events (or NDJSON)")
    )


def check_ingest_actor(actor: Actor) -> None:
    """Back-office systems and national staff send case events; a back-office agent only for their caisse."""
    if actor.kind == ActorKind.SYSTEM:
        return
    user = actor.user
    if user is None or not (user.is_superuser or user.role in INGEST_ROLES):
        raise Forbidden(_("case events come from back-office systems (a back-office or national role)"))
