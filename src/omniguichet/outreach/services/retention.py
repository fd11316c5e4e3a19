"""What the retention of old months of the ledger (core.retention, docs/scale.md) needs from it: a month leaves
only once every message of it is settled (none still queued, none of a later month merged into a digest of it),
and takes its idempotency keys of `outreach_outboundkey` with it (dropping a partition fires no row trigger)."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from omniguichet.core.partitions import next_month


def month_settled(partition: str, month: dt.date) -> str | None:
    """Why this month of the ledger must stay for now, or None."""
    table = connection.ops.quote_name(partition)
    with connection.cursor() as cursor:
        # The dispatcher's partial index of queued messages answers.
        cursor.execute(f"SELECT count(*) FROM {table} WHERE state = 'queued'")
        queued = cursor.fetchone()[0]
        if queued:
            return f"{queued} message(s) still queued for sending"
        # Members merged into a digest of this month from another month (the partial index of merged messages).
        cursor.execute(
            f"SELECT count(*) FROM outreach_outboundmessage m JOIN {table} d ON d.id = m.merged_into_id"
            " WHERE m.merged_into_id IS NOT NULL AND NOT (m.created_at >= %s AND m.created_at < %s)",
            [
                dt.datetime.combine(month, dt.time(), dt.UTC),
                dt.datetime.combine(next_month(month), dt.time(), dt.UTC),
            ],
        )
        members = cursor.fetchone()[0]
    if members:
        return f"{members} message(s) of another month are merged into digests of this month"
    return None


def forget_message_keys(partition: str) -> int:
    """Delete the idempotency keys of the messages of a detached month; returns how many."""
    table = connection.ops.quote_name(partition)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM outreach_outboundkey k USING {table} m"
            " WHERE k.idempotency_key = m.idempotency_key AND k.message_id = m.id"
        )
        return cursor.rowcount
