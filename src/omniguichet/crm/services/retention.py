"""What the retention of old months of contacts (core.retention, docs/scale.md) needs from the record: a month that
leaves takes its rows of the key table `crm_contactkey` with it (dropping a partition fires no row trigger)."""

from __future__ import annotations

from django.db import connection


def forget_contact_keys(partition: str) -> int:
    """Delete the (source, external_id) keys of the contacts of a detached month; returns how many."""
    table = connection.ops.quote_name(partition)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM crm_contactkey k USING {table} c WHERE c.external_id IS NOT NULL"
            " AND k.source = c.source AND k.external_id = c.external_id AND k.contact_id = c.id"
        )
        return cursor.rowcount
