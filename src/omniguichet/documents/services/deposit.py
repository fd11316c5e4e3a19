"""The deposit: checked files stored encrypted and routed, once per idempotency key, with the person's contact."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.baskets.services import open_item
from omniguichet.baskets.services import processing_kind_for as baskets_processing_kind_for
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.errors import Conflict, InvalidInput
from omniguichet.crm.services import deadline_for, record_contact
from omniguichet.documents.models import (
    Deposit,
    Document,
    DocumentType,
)
from omniguichet.documents.services.checks import check_deposit
from omniguichet.documents.services.common import (
    AGENT_CHANNELS,
    DEPOSIT_MOTIVE,
    INSURED_CHANNELS,
    _scoped_person,
)
from omniguichet.documents.services.purposes import (
    _resolvers,
    closed_refusal,
    registered_purpose_kinds,
    resolve_purpose,
)
from omniguichet.documents.services.routing import WORK_ITEM_KIND, basket_for
from omniguichet.documents.services.storage import document_storage, store_encrypted
from omniguichet.referential.models import Person


@dataclass
class DepositResult:
    deposit: Deposit
    documents: list[Document] = field(default_factory=list)
    replayed: bool = False  # True: the same idempotency key again, the first deposit returned unchanged


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def _replayed_deposit(person: Person, key: str, purpose_kind: str, purpose_ref: str) -> DepositResult | None:
    """The deposit already made with this key by this person (None when none). The key names one deposit: used
    again for another purpose, it is refused rather than silently answered with an unrelated deposit."""
    if not key:
        return None
    deposit = Deposit.objects.filter(person_id=person.pk, idempotency_key=key).first()
    if deposit is None:
        return None
    if (deposit.purpose_kind, deposit.purpose_ref) != (purpose_kind, purpose_ref):
        raise Conflict(_("this idempotency key was already used for another deposit"))
    documents = list(
        Document.objects.filter(deposit_id=deposit.pk).select_related("item__basket").order_by("id")
    )
    return DepositResult(deposit=deposit, documents=documents, replayed=True)


def deposit_documents(
    *,
    actor: Actor,
    channel: str,
    purpose_kind: str,
    purpose_ref: str,
    document_type: str,
    files: Sequence[tuple[str, bytes]],
    person_id: int | None = None,
    with_contact: bool = True,
    idempotency_key: str = "",
) -> DepositResult:
    """Deposit files for a purpose: checks, encryption, routing, one Contact. All or nothing.

    `with_contact=False` is for a caller that records the interaction itself (a teleservice request sent with
    its document is one contact in the record, not two). `idempotency_key` (optional, at most 64 letters, digits
    or - _ . :): the same key again for the same person returns the first deposit (`replayed=True`), nothing
    checked, stored or recorded again, even when the purpose has closed since (e.g. a case's document now
    received); two simultaneous deposits with one key make one deposit."""
    allowed = INSURED_CHANNELS if actor.kind == ActorKind.INSURED else AGENT_CHANNELS
    fields: dict[str, str] = {}
    if actor.kind != ActorKind.SYSTEM and channel not in allowed:
        fields["channel"] = _("must be one of %(all)s") % {"all": ", ".join(allowed)}
    if document_type not in DocumentType.values:
        fields["document_type"] = _("must be one of %(all)s") % {"all": ", ".join(DocumentType.values)}
    purpose_ref = str(purpose_ref).strip()
    if not purpose_ref or len(purpose_ref) > 64:
        fields["purpose_ref"] = _("between 1 and 64 characters")
    if purpose_kind not in _resolvers:
        fields["purpose_kind"] = _("must be one of %(all)s") % {"all": ", ".join(registered_purpose_kinds())}
    idempotency_key = idempotency_key or ""
    if idempotency_key and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        fields["idempotency_key"] = _("at most 64 letters, digits or - _ . :")
    if fields:
        raise InvalidInput.from_fields(fields)
    person = _scoped_person(actor, person_id)
    replayed = _replayed_deposit(person, idempotency_key, purpose_kind, purpose_ref)
    if replayed is not None:
        return replayed
    purpose = resolve_purpose(person=person, kind=purpose_kind, ref=purpose_ref)
    if not purpose.is_open:
        raise Conflict(purpose.refusal or closed_refusal())
    if document_type not in purpose.expected_types:
        expected = ", ".join(
            str(DocumentType(t).label) for t in purpose.expected_types if t in DocumentType.values
        )
        raise InvalidInput.from_fields(
            {"document_type": _("this request expects: %(types)s") % {"types": expected or "-"}}
        )
    checked = check_deposit(files)

    kind, routed_by = baskets_processing_kind_for(
        item_kind=WORK_ITEM_KIND, document_type=document_type, purpose_kind=purpose_kind,
        hint=purpose.processing_hint,
    )  # fmt: skip
    now = timezone.now()
    # Without a date set by the purpose: the deadline policy of documents (crm.DeadlinePolicy, 10 days by default)
    # on the person's caisse's calendar (docs/deadlines.md).
    deadline = purpose.deadline or deadline_for(kind="document", caisse=person.caisse_id, received_at=now)
    stored: list[str] = []
    try:
        with transaction.atomic():
            basket = basket_for(caisse_code=person.caisse_id, processing_kind=kind)
            deposit = Deposit.objects.create(
                person=person,
                caisse_id=person.caisse_id,
                purpose_kind=purpose_kind,
                purpose_ref=purpose_ref,
                channel=channel,
                actor_kind=actor.kind,
                agent=actor.user if actor.kind == ActorKind.AGENT else None,
                idempotency_key=idempotency_key,
            )
            documents = []
            for item in checked:
                name = store_encrypted(item.content, caisse_code=person.caisse_id)
                stored.append(name)
                documents.append(
                    Document(
                        deposit=deposit,
                        person=person,
                        caisse_id=person.caisse_id,
                        document_type=document_type,
                        purpose_kind=purpose_kind,
                        purpose_ref=purpose_ref,
                        file=name,
                        original_name=item.name,
                        content_type=item.content_type,
                        checksum=item.checksum,
                        size=item.size,
                        pages=item.pages,
                        received_at=now,
                    )
                )
            Document.objects.bulk_create(documents)
            if any(d.pk is None for d in documents):  # SQLite before RETURNING support: read them back
                documents = list(Document.objects.filter(deposit=deposit).order_by("id"))
            for document in documents:  # its place in the queue: its work item
                document.item = open_item(
                    kind=WORK_ITEM_KIND, subject_id=document.pk, person_id=person.pk, caisse_id=person.caisse_id,
                    basket=basket, summary=document_type, received_at=now, deadline=deadline,
                    routed_by=routed_by,
                )  # fmt: skip
            if with_contact:
                record_contact(
                    actor=actor,
                    channel=channel if channel in INSURED_CHANNELS + AGENT_CHANNELS else Channel.WEB,
                    person=person,
                    motive=DEPOSIT_MOTIVE,
                    note=f"{DocumentType(document_type).label} — {purpose.label}"[:4000],
                    subject_kind="document",
                    subject_ref=documents[0].pk,
                )
            if purpose.on_deposit is not None:
                purpose.on_deposit(documents, channel)
    except BaseException as exc:
        for name in stored:  # nothing half-written: files of a rolled-back deposit go too
            document_storage().delete(name)
        if isinstance(exc, IntegrityError) and idempotency_key:
            # A concurrent twin with the same key (a double submit) committed first: answer with its deposit.
            twin = _replayed_deposit(person, idempotency_key, purpose_kind, purpose_ref)
            if twin is not None:
                return twin
        raise
    return DepositResult(deposit=deposit, documents=documents)
