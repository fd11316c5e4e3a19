"""Documents a case asks for and the person deposits through the platform (the "case_request" deposit purpose)."""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.cases.models import (
    OPEN_STATUSES,
    CaseType,
    PlatformEvent,
    PlatformEventType,
    RequestedDocument,
)
from omniguichet.cases.services.common import CASE_REFERENCE_RE, DOCUMENT_CODE_RE, TimelineEntry
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import Forbidden
from omniguichet.core.formatting import french_date
from omniguichet.referential.models import Person

# The DocumentType a document code of the back office stands for (codes are the back office's own slugs).
CASE_DOCUMENT_TYPES: dict[str, tuple[str, ...]] = {
    "rib": ("bank_details",),
    "attestation-salaire": ("salary_certificate",),
    "arret-travail": ("sick_leave_form",),
    "avis-arret-travail": ("sick_leave_form",),
    "avis-imposition": ("proof_of_income",),
    "justificatif-revenus": ("proof_of_income",),
    "justificatif-domicile": ("proof_of_address",),
    "acte-naissance": ("birth_certificate",),
    "piece-identite": ("identity_document",),
    "photo": ("identity_document",),
}


CASE_PROCESSING: dict[str, str] = {
    CaseType.SICK_PAY: "ij",
    CaseType.REIMBURSEMENT: "remboursements",
    CaseType.CSS: "c2s",
    CaseType.EUROPEAN_CARD: "droits",
    CaseType.VITALE_CARD: "droits",
    CaseType.ADDRESS_CHANGE: "droits",
}


def case_document_types(code: str) -> tuple[str, ...]:
    """The document types accepted for a requested document: the known code's, a code that is itself a type, or
    (a code the platform does not know) every type, the person saying which one it is."""
    from omniguichet.documents.models import DocumentType

    if code in CASE_DOCUMENT_TYPES:
        return CASE_DOCUMENT_TYPES[code]
    if code.replace("-", "_") in DocumentType.values:
        return (code.replace("-", "_"),)
    return tuple(DocumentType.values)


def _no_such_request() -> Exception:
    from omniguichet.core.errors import NotFound

    return NotFound(_("no such request for this person"))


def _case_request_refusal(doc: RequestedDocument) -> str:
    if doc.case.status not in OPEN_STATUSES:
        return _("this case is closed: documents can no longer be deposited for it")
    if doc.received_at is not None:
        return _("this document was already received on %(date)s") % {"date": french_date(doc.received_at)}
    return ""


def _case_request_purpose(doc: RequestedDocument) -> Any:
    from omniguichet.documents.services import DepositPurpose

    case = doc.case
    refusal = _case_request_refusal(doc)
    return DepositPurpose(
        label=_("%(label)s — case %(reference)s (%(type)s)")
        % {"label": doc.label, "reference": case.reference, "type": case.get_case_type_display()},
        expected_types=case_document_types(doc.code),
        is_open=not refusal,
        person_id=case.person_id,
        processing_hint=CASE_PROCESSING.get(case.case_type, ""),
        on_deposit=functools.partial(record_document_received, requested_document_id=doc.pk),
        refusal=refusal,
    )


def resolve_case_request(person: Person, ref: str) -> Any:
    """The deposit purpose "case_request": `ref` is the id of the case's RequestedDocument. Another person's
    request answers like a missing one (the documents service compares `person_id`); a closed case or a document
    already received is refused with its reason."""
    if not ref.isdigit() or len(ref) > 18:
        raise _no_such_request()
    doc = RequestedDocument.objects.select_related("case").filter(pk=int(ref)).first()
    if doc is None:
        raise _no_such_request()
    return _case_request_purpose(doc)


def list_case_requests(person: Person) -> list:
    """The person's requested documents still awaited in their open cases (one query), as deposit purposes."""
    from omniguichet.documents.services import OpenPurpose

    docs = (
        RequestedDocument.objects.filter(
            case__person_id=person.pk, case__status__in=OPEN_STATUSES, received_at__isnull=True
        )
        .select_related("case")
        .order_by("-requested_at", "-id")[:50]
    )
    return [
        OpenPurpose("case_request", str(doc.pk), _case_request_purpose(doc), doc.requested_at) for doc in docs
    ]


def record_document_received(documents: list, channel: str, *, requested_document_id: int) -> PlatformEvent:
    """A deposit for a case's requested document (called inside the deposit's transaction): the document is
    received (so the person's list of awaited documents and the outreach reminder stop waiting for it) and a
    `document_received` PlatformEvent goes on the case's timeline. The case's status is left to the back office:
    it moves when the back office's own `document_received` event comes, after its agents processed the basket.
    The row is locked: of two concurrent deposits for the same request, the second is refused (and rolled back
    whole)."""
    from omniguichet.core.errors import Conflict

    doc = (
        RequestedDocument.objects.select_for_update(of=("self",))
        .select_related("case")
        .get(pk=requested_document_id)
    )
    refusal = _case_request_refusal(doc)
    if refusal:
        raise Conflict(refusal)
    first = documents[0]
    doc.received_at = first.received_at
    doc.save(update_fields=["received_at"])
    return PlatformEvent.objects.create(
        key=f"deposit-{first.deposit_id}",
        case=doc.case,
        event_type=PlatformEventType.DOCUMENT_RECEIVED,
        document_code=doc.code,
        occurred_at=first.received_at,
        payload={"label": doc.label, "channel": channel, "documents": [d.pk for d in documents]},
    )


def reopen_case_request(document: Any, reason: str) -> None:
    """A basket agent rejected a document deposited for a case's request (inside the rejection's transaction):
    the case waits for the document again (the person can deposit again; the reminder may follow) and the
    timeline says why. Replaying the rejection of the same document records nothing more."""
    ref = document.purpose_ref
    if not ref.isdigit() or len(ref) > 18:
        return
    doc = (
        RequestedDocument.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(pk=int(ref))
        .first()
    )
    if doc is None or PlatformEvent.objects.filter(key=f"rejected-{document.pk}").exists():
        return
    if doc.case.status in OPEN_STATUSES and doc.received_at is not None:
        doc.received_at = None
        doc.save(update_fields=["received_at"])
    PlatformEvent.objects.create(
        key=f"rejected-{document.pk}",
        case=doc.case,
        event_type=PlatformEventType.DOCUMENT_REJECTED,
        document_code=doc.code,
        occurred_at=document.decided_at or timezone.now(),
        payload={"label": doc.label, "reason": reason, "document": document.pk},
    )


def requested_document_for(*, actor: Actor, reference: str, code: str) -> RequestedDocument:
    """The requested document a message's deposit link names (/compte/dossiers/<reference>/pieces/<code>), for
    the insured person whose case it is; anything else answers NotFound."""
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves reads this"))
    if not CASE_REFERENCE_RE.match(reference) or not DOCUMENT_CODE_RE.match(code):
        raise _no_such_request()
    doc = RequestedDocument.objects.filter(
        case__reference=reference, case__person_id=actor.person_id, code=code
    ).first()
    if doc is None:
        raise _no_such_request()
    return doc


def describe_platform_event(event: PlatformEvent) -> str:
    label = event.payload.get("label") or event.document_code
    if event.event_type == PlatformEventType.DOCUMENT_REJECTED:
        return _("Your document (%(label)s) could not be accepted: %(reason)s. Please send it again.") % {
            "label": label,
            "reason": event.payload.get("reason", ""),
        }
    return _("We received your document: %(label)s.") % {"label": label}


def platform_timeline(case_ids: list[int]) -> dict[int, list[TimelineEntry]]:
    """The platform's events of these cases, by case, oldest first (one query)."""
    entries: dict[int, list[TimelineEntry]] = defaultdict(list)
    if not case_ids:
        return entries
    for event in PlatformEvent.objects.filter(case_id__in=case_ids).order_by("case_id", "occurred_at", "id"):
        entries[event.case_id].append(
            TimelineEntry(0, event.occurred_at, event.event_type, describe_platform_event(event))
        )
    return entries


def merge_timeline(backoffice: list[TimelineEntry], platform: list[TimelineEntry]) -> list[TimelineEntry]:
    """The back office's events stay in their sequence order; each platform event goes before the first back-office
    event that happened after it."""
    if not platform:
        return backoffice
    merged: list[TimelineEntry] = []
    waiting = iter(platform)
    pending = next(waiting, None)
    for entry in backoffice:
        while pending is not None and pending.occurred_at < entry.occurred_at:
            merged.append(pending)
            pending = next(waiting, None)
        merged.append(entry)
    if pending is not None:
        merged.append(pending)
        merged.extend(waiting)
    return merged
