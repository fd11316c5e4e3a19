"""Delivery receipts from the providers, applied idempotently."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.outreach.models import (
    MessageState,
    OutboundMessage,
)

RECEIPT_STATES = {
    "delivered": MessageState.DELIVERED,
    "bounced": MessageState.BOUNCED,
    "failed": MessageState.FAILED,
}


@dataclass
class ReceiptResult:
    index: int
    status: str  # updated, unchanged, rejected
    errors: dict[str, str] = field(default_factory=dict)


def check_receipt_actor(actor: Actor) -> None:
    user = actor.user
    if user is None or not (user.is_superuser or user.has_perm("outreach.receive_receipts")):
        raise Forbidden(_("delivery receipts come from message providers"))


def apply_receipts(*, actor: Actor, rows: list[Any]) -> list[ReceiptResult]:
    """Delivery receipts from providers: {"provider_ref" or "idempotency_key", "status": delivered|bounced|
    failed, "at"}. A sent message moves to that state; a receipt received twice changes nothing."""
    from omniguichet.core.text import MAX_BATCH_ROWS as MAX_BATCH

    check_receipt_actor(actor)
    if len(rows) > MAX_BATCH:
        raise InvalidInput.from_fields({"body": _("at most %(max)d receipts per batch") % {"max": MAX_BATCH}})
    results: list[ReceiptResult] = []
    wanted: list[tuple[ReceiptResult, str, str, str, dt.datetime]] = []
    now = timezone.now()
    for index, row in enumerate(rows):
        result = ReceiptResult(index, "rejected")
        results.append(result)
        if not isinstance(row, dict):
            result.errors = {"row": _("must be a JSON object")}
            continue
        ref = row.get("provider_ref") or row.get("idempotency_key")
        kind = "provider_ref" if row.get("provider_ref") else "idempotency_key"
        if not isinstance(ref, str) or not ref or len(ref) > 200 or "\x00" in ref:
            result.errors["provider_ref"] = _("provider_ref or idempotency_key is required")
        if not isinstance(row.get("status"), str) or row["status"] not in RECEIPT_STATES:
            result.errors["status"] = _("must be delivered, bounced or failed")
        at = now
        if row.get("at") is not None:
            from django.utils.dateparse import parse_datetime

            try:
                parsed = parse_datetime(row["at"]) if isinstance(row["at"], str) else None
            except ValueError:
                parsed = None
            if parsed is None or timezone.is_naive(parsed):
                result.errors["at"] = _("is not an ISO 8601 date and time with its offset")
            else:
                at = parsed
        if not result.errors:
            wanted.append((result, kind, ref, RECEIPT_STATES[row["status"]], at))  # type: ignore[arg-type]
    with transaction.atomic():
        refs = {r for _res, kind, r, _s, _a in wanted if kind == "provider_ref"}
        keys = {r for _res, kind, r, _s, _a in wanted if kind == "idempotency_key"}
        found = list(
            OutboundMessage.objects.select_for_update().filter(
                Q(provider_ref__in=refs) | Q(idempotency_key__in=keys)
            )
        )
        by_ref = {m.provider_ref: m for m in found if m.provider_ref}
        by_key = {m.idempotency_key: m for m in found}
        changed: dict[int, OutboundMessage] = {}
        for result, kind, ref, state, at in wanted:
            message = (by_ref if kind == "provider_ref" else by_key).get(ref)
            if message is None:
                result.errors = {kind: _("unknown message")}
                continue
            if message.state == state:
                result.status = "unchanged"
                continue
            if message.state != MessageState.SENT:
                result.errors = {"status": _("the message is %(s)s") % {"s": message.state}}
                continue
            message.state = state
            if state == MessageState.DELIVERED:
                message.delivered_at = at
            else:
                message.last_error = _("the provider reported %(s)s") % {"s": state}
            changed[message.pk] = message
            result.status = "updated"
        OutboundMessage.objects.bulk_update(list(changed.values()), ["state", "delivered_at", "last_error"])
    return results
