"""The case timeline in plain words for the person, and the "open cases" section of the customer record."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from omniguichet.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    EventState,
    EventType,
    RequestedDocument,
)
from omniguichet.cases.services.common import TimelineEntry
from omniguichet.cases.services.requests import merge_timeline, platform_timeline
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.db import (
    PreparedQuery,
)
from omniguichet.core.errors import Forbidden
from omniguichet.core.formatting import french_amount, french_date
from omniguichet.referential.models import Person


def describe_event(event_type: str, payload: dict[str, Any]) -> str:
    """One event in plain words, for the person's timeline."""
    if event_type == EventType.OPENED:
        return _("Your request was registered.")
    if event_type == EventType.DOCUMENT_MISSING:
        text = _("We need a document from you: %(label)s.") % {"label": payload.get("label", "")}
        if payload.get("due_on"):
            text += " " + _("Please send it before %(date)s.") % {"date": french_date(payload["due_on"])}
        return text
    if event_type == EventType.DOCUMENT_RECEIVED:
        return _("We received your document.")
    if event_type == EventType.EXPECTED_DATE_CHANGED:
        return _("We expect to decide by %(date)s.") % {
            "date": french_date(payload.get("expected_decision_on"))
        }
    if event_type == EventType.DECISION:
        if payload.get("outcome") == "accepted":
            return _("Your request was accepted.")
        return _("Your request was refused.") + (f" {payload['reason']}" if payload.get("reason") else "")
    if event_type == EventType.PAYMENT:
        text = _("We paid you %(amount)s") % {"amount": french_amount(payload.get("amount", "0"))}
        if payload.get("paid_on"):
            text += " " + _("on %(date)s") % {"date": french_date(payload["paid_on"])}
        return text + "."
    if event_type == EventType.CARD_SHIPPED:
        return _("Your card was sent by post.")
    if event_type == EventType.CLOSED:
        return _("Your case is closed.")
    return str(event_type)


@dataclass
class CaseView:
    case: Case
    type_label: str
    status_label: str
    awaited_documents: list[RequestedDocument]
    timeline: list[TimelineEntry]

    @property
    def decision_expected_on(self) -> dt.date | None:
        """The expected decision date, while a decision is still awaited (not once accepted, refused, closed)."""
        awaiting = (CaseStatus.OPEN, CaseStatus.WAITING_DOCUMENTS, CaseStatus.IN_PROGRESS)
        return self.case.expected_decision_on if self.case.status in awaiting else None


def my_cases(*, actor: Actor, channel: str = Channel.WEB, limit: int = 20) -> list[CaseView]:
    """The acting insured person's cases, newest first, each with its timeline in plain words (4 queries)."""
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves reads this"))
    cases = list(
        Case.objects.filter(person_id=actor.person_id).order_by("-opened_at", "-id")[
            : max(1, min(limit, 100))
        ]
    )
    ids = [c.pk for c in cases]
    events: dict[int, list[TimelineEntry]] = defaultdict(list)
    for event in CaseEvent.objects.filter(case_id__in=ids, state=EventState.APPLIED).order_by(
        "case_id", "sequence"
    ):
        events[event.case_id].append(
            TimelineEntry(
                event.sequence,
                event.occurred_at,
                event.event_type,
                describe_event(event.event_type, event.payload),
            )
        )
    docs: dict[int, list[RequestedDocument]] = defaultdict(list)
    for doc in RequestedDocument.objects.filter(case_id__in=ids, received_at__isnull=True).order_by(
        "requested_at"
    ):
        docs[doc.case_id].append(doc)
    platform = platform_timeline(ids)  # documents deposited through the platform (issue 6)
    return [
        CaseView(
            c,
            c.get_case_type_display(),
            c.get_status_display(),
            docs[c.pk],
            merge_timeline(events[c.pk], platform.get(c.pk, [])),
        )
        for c in cases
    ]


# Part of every record opening: compiled once (core.db.PreparedQuery).
_OPEN_CASES = PreparedQuery(
    lambda *, person_id: Case.objects.filter(person_id=person_id, status__in=OPEN_STATUSES).order_by(
        "-opened_at", "-id"
    )[:5]
)


def open_cases_section(person: Person) -> list:
    """The "open cases" section of the customer record: one query."""
    from omniguichet.crm.services import RecordItem

    cases = _OPEN_CASES(person_id=person.pk)
    return [
        RecordItem(
            ref=c.reference,
            label=str(c.get_case_type_display()),
            status=str(c.get_status_display()),
            when=c.expected_decision_on or c.opened_at,
        )
        for c in cases
    ]


def person_cases(*, person_id: int, limit: int = 20) -> list[Case]:
    """A person's cases, newest first, in one query: what other apps offer the person to refer to (a message
    about a case) and read the status and expected decision date from."""
    return list(
        Case.objects.filter(person_id=person_id).order_by("-opened_at", "-id")[: max(1, min(limit, 100))]
    )
