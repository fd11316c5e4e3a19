"""Limits and vocabularies of contacts shared by recording, ingestion and the record."""

from __future__ import annotations

import datetime as dt

from omniguichet.core.actors import CONTACT_CHANNEL_VALUES
from omniguichet.crm.models import Direction, Outcome

MAX_BATCH = 10_000


INGEST_COLUMNS = [
    "person_id", "caisse_id", "channel", "direction", "motive_id", "started_at", "actor_kind", "agent_id", "outcome",
    "note", "answered", "responded_at", "on_appointment", "waited_seconds", "source", "external_id", "created_at",
    "subject_kind", "subject_ref",
]  # fmt: skip


FUTURE_TOLERANCE = dt.timedelta(minutes=5)


TIMELINE_PAGE = 20


MAX_TIMELINE_PAGE = 100


# Sets built once: TextChoices.values builds a new list on every access, and ingestion checks 10,000 rows.
_CHANNELS = frozenset(CONTACT_CHANNEL_VALUES)


_DIRECTIONS = frozenset(Direction.values)


_OUTCOMES = frozenset(Outcome.values)
