"""What the parts of analytics share: the warehouse layout, the Arrow schemas, the pseudonym of a person."""

from __future__ import annotations

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
