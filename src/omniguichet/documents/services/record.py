"""The documents section of the customer record."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.db import PreparedQuery
from omniguichet.core.errors import Forbidden
from omniguichet.crm.services import RecordItem
from omniguichet.documents.models import (
    Document,
)
from omniguichet.referential.models import Person

RECENT_DOCUMENTS = 5


# Part of every record opening: compiled once (core.db.PreparedQuery).
_RECENT_DOCUMENTS = PreparedQuery(
    lambda *, person_id: (
        Document.objects.filter(person_id=person_id)
        .select_related("item")  # "claimed" is the item's
        .order_by("-received_at")[:RECENT_DOCUMENTS]
    )
)


def recent_documents_section(person: Person) -> list[RecordItem]:
    """The "recent documents" section of the customer record (one query)."""
    rows = _RECENT_DOCUMENTS(person_id=person.pk)
    return [
        RecordItem(
            ref=str(d.pk),
            label=str(d.get_document_type_display()),
            status=d.get_state_display(),
            when=d.received_at,
            url=reverse("documents:document", args=[d.pk]),
        )
        for d in rows
    ]


def my_documents(*, actor: Actor, limit: int = 50) -> list[Document]:
    if actor.kind != ActorKind.INSURED:
        raise Forbidden(_("reserved to insured persons"))
    documents = Document.objects.filter(person_id=actor.person_id or 0).select_related("item")
    return list(documents.order_by("-received_at")[:limit])
