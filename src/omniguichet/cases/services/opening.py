"""Cases the platform opens itself, from a request made with an online service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.cases.models import (
    Case,
    CaseStatus,
    RequestedDocument,
)
from omniguichet.cases.services.ingest import ingest_case_events
from omniguichet.core.actors import Actor
from omniguichet.core.errors import InvalidInput
from omniguichet.referential.models import Person

PLATFORM_SOURCE = "platform"


def open_case_from_request(
    *,
    actor: Actor,
    channel: str,
    person: Person,
    case_type: str,
    reference: str,
    required_documents: Iterable[tuple[str, str]] = (),
    documents_due_on: dt.date | None = None,
    expected_decision_on: dt.date | None = None,
) -> Case:
    """Open a case for a request the person filed on the platform (e.g. the CSS online service), through the
    same ingestion as the back office's events: the "opened" event is sequence 1 (event id "<reference>:opened",
    so a replay is a duplicate), its handlers run (outreach's "request registered" message). The documents the
    case needs are written as awaited documents, NOT as events: the platform never takes another sequence number
    of the case, the back office numbers every later event from 2 on (see docs/cases.md). The caller authorised
    the actor for the person (the online services' checks); the opening itself is the platform's. No contact is
    recorded here: the request that opened the case is the contact. Replayed with the same reference: the case
    already opened, unchanged."""
    existing = Case.objects.filter(reference=reference).first()
    if existing is not None:
        if existing.person_id != person.pk:
            raise InvalidInput.from_fields({"reference": _("this case was already opened")})
        return existing
    now = timezone.now()
    payload: dict[str, Any] = {"person_id": person.pk, "case_type": case_type}
    if expected_decision_on is not None:
        payload["expected_decision_on"] = expected_decision_on.isoformat()
    row = {"event_id": f"{reference}:opened"[:64], "case_reference": reference, "sequence": 1, "type": "opened",
           "occurred_at": now.isoformat(), "payload": payload}  # fmt: skip
    with transaction.atomic():
        report = ingest_case_events(actor=Actor.system(PLATFORM_SOURCE), rows=[row], source=PLATFORM_SOURCE)
        [result] = report.results
        if result.status not in ("applied", "duplicate"):
            raise InvalidInput.from_fields(result.errors or {"reference": result.message})
        case = Case.objects.get(reference=reference)
        docs = [
            RequestedDocument(
                case=case, code=code, label=label[:120], requested_at=now, due_on=documents_due_on
            )
            for code, label in required_documents
        ]
        if docs:
            RequestedDocument.objects.bulk_create(docs, ignore_conflicts=True)
            if case.status == CaseStatus.OPEN:
                case.status = CaseStatus.WAITING_DOCUMENTS
                case.save(update_fields=["status"])
    return case
