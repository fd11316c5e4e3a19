"""What the parts of analytics share: the warehouse layout, the Arrow schemas, the pseudonym of a person."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from omniguichet.core.keys import key_from_file
from omniguichet.referential.models import Role

if TYPE_CHECKING:
    import pyarrow as pa


PART_RE = re.compile(r"^part-(\d{12})-(\d{12})\.parquet$")


# contacts/month=YYYY-MM/: the Hive layout of the contacts, by the local (Europe/Paris) month of started_at, the
# month of the indicators (docs/analytics.md, "The layout").
MONTH_PREFIX = "month="
IMPORTS_DIR = "_imports"  # in contacts/: one marker per history import fully written (<name>.json)
MONTH_DIR_RE = re.compile(r"^month=(\d{4}-\d{2})$")


PERSONS_STATE = "_state.json"


EXPORT_STATE = "_export.json"  # in contacts/: the floor, the changes applied, the marks still pending


PERSONS_BUCKET = 1_000_000  # person ids per persons part file


CACHE_DIR = "_kpi"


ANALYTICS_ROLES = {Role.MANAGER, Role.NATIONAL_SUPERVISOR}


# pyarrow is imported where it is used: the URL conf loads these services, and pyarrow costs every web server
# and command process a tenth of a second (issue 15).
@functools.cache
def _contacts_arrow() -> pa.Schema:
    import pyarrow as pa

    utc = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("contact_id", pa.string()),
            ("person_key", pa.string()),
            ("caisse", pa.string()),
            ("channel", pa.string()),
            ("direction", pa.string()),
            ("motive", pa.string()),
            ("started_at", utc),
            ("answered", pa.bool_()),
            ("responded_at", utc),
            ("on_appointment", pa.bool_()),
            ("waited_seconds", pa.int64()),
        ]
    )


@functools.cache
def _persons_arrow() -> pa.Schema:
    import pyarrow as pa

    utc = pa.timestamp("us", tz="UTC")
    return pa.schema([("person_key", pa.string()), ("caisse", pa.string()), ("account_opened_at", utc)])


CONTACT_FIELDS = (
    "id",
    "person_id",
    "caisse_id",
    "channel",
    "direction",
    "motive_id",
    "started_at",
    "answered",
    "responded_at",
    "on_appointment",
    "waited_seconds",
)


def month_dirs(contacts: Path) -> list[Path]:
    """The month folders of a contacts directory, in order."""
    if not contacts.is_dir():
        return []
    return sorted(p for p in contacts.iterdir() if p.is_dir() and MONTH_DIR_RE.match(p.name))


def local_months(started_at: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The local (Europe/Paris) month "YYYY-MM" of each UTC instant: the partition of each contact. Vectorised
    like the engine's month index (how many month starts each instant is at or after), over the months the
    instants span only: one comparison per month (an export batch spans one or two)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from omniguichet.analytics.engine import month_bounds

    utc = pa.timestamp("us", tz="UTC")
    values = pa.chunked_array([started_at]) if isinstance(started_at, pa.Array) else started_at
    values = values.cast(utc)
    if len(values) == 0:
        return pa.array([], pa.string())
    low, high = pc.min(values).as_py(), pc.max(values).as_py()
    labels: list[str] = []
    starts: list[dt.datetime] = []
    for year in range(low.year - 1, high.year + 2):
        for month, start in enumerate(month_bounds(year)[:12]):
            labels.append(f"{year}-{month + 1:02d}")
            starts.append(start.replace(tzinfo=dt.UTC))
    # Only the month starts between the first and the last instant move the index.
    base = max(i for i, start in enumerate(starts) if start <= low)
    index = pa.chunked_array([pa.array([base] * len(values), pa.int64())])
    for start in starts[base + 1 :]:
        if start > high:
            break
        index = pc.add(index, pc.cast(pc.greater_equal(values, pa.scalar(start, utc)), pa.int64()))
    return pc.take(pa.array(labels, pa.string()), index).combine_chunks()


# ------------------------------------------------------------------------------------------------ pseudonyms
def pseudonym_key() -> bytes:
    """The HMAC key of person pseudonyms: OMNIGUICHET_PSEUDONYM_KEY, else a file generated once under var/."""
    from_env = os.environ.get("OMNIGUICHET_PSEUDONYM_KEY")
    if from_env:
        return from_env.encode()
    return key_from_file(Path(settings.VAR_DIR) / "pseudonym_key", lambda: secrets.token_urlsafe(48)).encode()


def person_key(person_id: int, key: bytes) -> str:
    """The keyed pseudonym of a person: HMAC-SHA256 of the person id (never the NIR), 128 bits in hex."""
    return hmac.new(key, str(person_id).encode(), hashlib.sha256).hexdigest()[:32]
