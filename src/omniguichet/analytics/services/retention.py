"""What the retention of old months of contacts (core.retention, docs/scale.md) needs from the warehouse: a month
of contacts leaves the database only once the warehouse holds all of it, as it is now.

The export works by contact id, not by month (docs/analytics.md): its state says that every contact id up to
`floor` is final in the warehouse, and that the change log (crm_contactchange) is applied up to `changes_floor`.
A month is exported when its highest contact id is at most `floor` and no change of one of its contacts waits
above `changes_floor` (applied later, such a change would find the contact gone and take it out of the
warehouse). The platform's warehouse is ANALYTICS_WAREHOUSE_DIR: a worker that cannot read it sees nothing
exported and keeps every month."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.db import connection

from omniguichet.analytics.services.common import EXPORT_STATE


def month_exported(partition: str, month: dt.date) -> str | None:
    """Why this month of contacts must stay for now (not fully exported), or None."""
    state_file = Path(settings.ANALYTICS_WAREHOUSE_DIR) / "contacts" / EXPORT_STATE
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    floor, changes_floor = int(state.get("floor", 0)), int(state.get("changes_floor", 0))
    table = connection.ops.quote_name(partition)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {table}")  # its primary key (id, started_at) answers
        top = cursor.fetchone()[0]
        if top is None:
            return None
        if top > floor:
            return (
                f"not yet exported to the warehouse: its contacts go up to id {top}, the warehouse is final"
                f" up to id {floor}"
            )
        cursor.execute(
            f"SELECT count(*) FROM crm_contactchange ch JOIN {table} c ON c.id = ch.contact_id WHERE ch.id > %s",
            [changes_floor],
        )
        pending = cursor.fetchone()[0]
    if pending:
        return f"{pending} change(s) of its contacts not yet applied to the warehouse"
    return None
