"""Constants every part of cases shares: limits, patterns, the motive of each case type, the timeline entry."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Model

from omniguichet.cases.models import (
    CaseType,
    EventType,
)
from omniguichet.core.actors import CONTACT_CHANNEL_VALUES
from omniguichet.core.text import MAX_BATCH_ROWS
from omniguichet.referential.models import Role

M = TypeVar("M", bound=Model)


MAX_BATCH = MAX_BATCH_ROWS


MAX_ID = 2**63 - 1


EARLIEST_EVENT = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


FUTURE_TOLERANCE = dt.timedelta(minutes=5)


MAX_AMOUNT = Decimal("10000000")


CASE_REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")


DOCUMENT_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


INGEST_ROLES = frozenset({Role.BACKOFFICE_AGENT, Role.NATIONAL_SUPERVISOR})


# The motive of the contacts a case event records, by case type.
CASE_MOTIVES: dict[str, str] = {
    CaseType.SICK_PAY: "ij_suivi",
    CaseType.REIMBURSEMENT: "remboursement",
    CaseType.CSS: "css",
    CaseType.EUROPEAN_CARD: "carte_europeenne",
    CaseType.VITALE_CARD: "carte_vitale",
    CaseType.ADDRESS_CHANGE: "changement_adresse",
}


# are contacts of the person, recorded in the customer record.
PERSON_EVENTS = frozenset({EventType.OPENED, EventType.DOCUMENT_RECEIVED})


_EVENT_TYPES = frozenset(EventType.values)


_CASE_TYPES = frozenset(CaseType.values)


_CHANNELS = frozenset(CONTACT_CHANNEL_VALUES)


def _member(value: Any, choices: frozenset[str]) -> bool:
    """Membership for any JSON value (a list or an object is simply not a member)."""
    return isinstance(value, str) and value in choices


@dataclass
class TimelineEntry:
    sequence: int
    occurred_at: dt.datetime
    event_type: str
    text: str
