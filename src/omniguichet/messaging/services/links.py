"""Where threads show elsewhere: in the account's inbox (next to what the platform sent) and as a link from the
customer record's timeline (registered from apps.py)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from omniguichet.crm.models import Direction, Person
from omniguichet.messaging.models import Thread


def inbox_items(person: Person) -> list:
    """The person's threads as inbox entries (one query). They have no read state of the inbox's own (the
    "mark all as read" button is the ledger's): an unread answer is said in the line."""
    from omniguichet.accounts.services import InboxItem

    threads = (
        Thread.objects.filter(person=person)
        .annotate(
            unread=Count("messages", filter=Q(messages__direction=Direction.OUTBOUND, messages__read_at=None))
        )
        .order_by("-last_message_at", "-id")[:50]
    )
    return [
        InboxItem(
            ref=f"thread-{t.pk}",
            subject=_("Conversation: %(subject)s") % {"subject": t.subject},
            body=(_("New answer from your caisse") if t.unread else str(t.get_status_display())),
            when=t.last_message_at,
            url=reverse("messaging:thread", args=[t.pk]),
        )
        for t in threads
    ]


def agent_thread_url(ref: str) -> str:
    return reverse("messaging:agent_thread", args=[int(ref)]) if ref.isdigit() else ""
