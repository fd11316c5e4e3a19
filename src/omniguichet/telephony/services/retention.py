"""What the retention of old months of contacts (core.retention, docs/scale.md) needs from telephony: a call keeps
its row when its contact's month leaves, without its contact (the contact is gone by law, the call is telephony's
own record, with its own retention still to write). Dropping a partition fires no row trigger, so the constraint
trigger protecting a call's contact (telephony.0003) cannot refuse it: this hook runs first, in the same
transaction as the drop."""

from __future__ import annotations

from django.db import connection


def forget_call_contacts(partition: str) -> int:
    """Clear the contact of the calls pointing at a detached month of contacts; returns how many."""
    table = connection.ops.quote_name(partition)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE telephony_call c SET contact_id = NULL FROM {table} d WHERE c.contact_id = d.id"
        )
        return cursor.rowcount
