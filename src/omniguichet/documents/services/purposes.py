"""What a deposit is for: the purposes other apps register at start-up (a case's requested document, a
teleservice request, an appointment), their resolution and listing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.documents.models import (
    Document,
    DocumentRequest,
    DocumentType,
    ProcessingKind,
    PurposeKind,
    RequestStatus,
)
from omniguichet.documents.services.common import _scoped_person
from omniguichet.referential.models import Person


@dataclass(frozen=True)
class DepositPurpose:
    """What a resolver answers about one purpose (a teleservice request, a case's missing-document request, an
    appointment, a document request).

    - `label`: in plain words, shown to the person and to the agent ("Changement de coordonnées bancaires").
    - `expected_types`: the DocumentType values it accepts.
    - `is_open`: False once the request is closed (deposits are then refused).
    - `person_id`: the person it belongs to (deposits for another person's purpose are refused).
    - `processing_hint`: a ProcessingKind used when no routing rule matches the document type.
    - `deadline`: when the back office must have processed the documents (default: 10 days after receipt).
    - `refusal`: when not open, why, in plain words ("this document was already received"); default: closed.
    - `on_deposit(documents, channel)`: called INSIDE the deposit transaction with the created Documents, so
      what it writes (e.g. `document_received` on a case) and the deposit are kept together or not at all; it
      may raise a ServiceError (e.g. Conflict when a concurrent deposit got there first) to refuse the deposit.
    """

    label: str
    expected_types: tuple[str, ...]
    is_open: bool
    person_id: int
    processing_hint: str = ""
    deadline: dt.datetime | None = None
    on_deposit: Callable[[list[Document], str], object] | None = None
    refusal: str = ""


@dataclass(frozen=True)
class OpenPurpose:
    """One purpose a person can deposit for now (listed on their pages and at the kiosk)."""

    kind: str
    ref: str
    purpose: DepositPurpose
    since: dt.datetime | None = None


Resolver = Callable[[Person, str], DepositPurpose]


Lister = Callable[[Person], list[OpenPurpose]]


RejectionHook = Callable[[Document, str], None]


_resolvers: dict[str, Resolver] = {}


_listers: dict[str, Lister] = {}


_rejection_hooks: dict[str, RejectionHook] = {}


def register_deposit_purpose(
    kind: str,
    resolver: Resolver,
    *,
    lister: Lister | None = None,
    on_rejected: RejectionHook | None = None,
) -> None:
    """Let the app that owns a kind of purpose resolve its references.

    `resolver(person, ref)` returns a DepositPurpose or raises NotFound when `ref` names nothing (it may ignore
    `person`: the deposit service checks `purpose.person_id` itself). Call it from the app's AppConfig.ready():
    teleservices register "teleservice", cases "case_request", appointments "appointment"; this app registers
    "request" (DocumentRequest).

    `lister(person)` (optional) gives the person's open purposes of this kind, in ONE query (the person's pages
    and the kiosk list them). `on_rejected(document, reason)` (optional) runs inside the transaction of a basket
    rejection (e.g. a case waits for the document again).
    """
    if kind not in PurposeKind.values:
        raise ValueError(f"unknown purpose kind {kind!r} (one of {PurposeKind.values})")
    _resolvers[kind] = resolver
    if lister is not None:
        _listers[kind] = lister
    else:
        _listers.pop(kind, None)
    if on_rejected is not None:
        _rejection_hooks[kind] = on_rejected
    else:
        _rejection_hooks.pop(kind, None)


def registered_purpose_kinds() -> list[str]:
    return sorted(_resolvers)


def resolve_purpose(*, person: Person, kind: str, ref: str) -> DepositPurpose:
    resolver = _resolvers.get(kind)
    if resolver is None:
        raise InvalidInput.from_fields(
            {"purpose_kind": _("must be one of %(all)s") % {"all": ", ".join(registered_purpose_kinds())}}
        )
    purpose = resolver(person, ref)
    if purpose.person_id != person.pk:
        # Another person's request answers exactly like a missing one.
        raise NotFound(_("no such request for this person"))
    return purpose


def closed_refusal() -> str:
    return _("this request is closed: documents can no longer be deposited for it")


def describe_purpose(*, actor: Actor, kind: str, ref: str, person_id: int | None = None) -> DepositPurpose:
    """The purpose a deposit page is opened for (its label and the document types it expects)."""
    person = _scoped_person(actor, person_id)
    if kind not in _resolvers:
        raise NotFound(_("no such request for this person"))
    return resolve_purpose(person=person, kind=kind, ref=str(ref).strip()[:64])


def _resolve_document_request(person: Person, ref: str) -> DepositPurpose:
    if not ref.isdigit() or len(ref) > 18:
        raise NotFound(_("no such request for this person"))
    request = DocumentRequest.objects.filter(pk=int(ref)).first()
    if request is None:
        raise NotFound(_("no such request for this person"))
    return _request_purpose(request)


def _request_purpose(request: DocumentRequest) -> DepositPurpose:
    deadline = None
    if request.deadline is not None:
        deadline = dt.datetime.combine(request.deadline, dt.time(23, 59), tzinfo=dt.UTC)
    return DepositPurpose(
        label=request.label,
        expected_types=tuple(request.document_types),
        is_open=request.status == RequestStatus.OPEN,
        person_id=request.person_id,
        processing_hint=request.processing_kind,
        deadline=deadline,
    )


def _list_document_requests(person: Person) -> list[OpenPurpose]:
    return [
        OpenPurpose(PurposeKind.REQUEST, str(request.pk), _request_purpose(request), request.created_at)
        for request in DocumentRequest.objects.filter(
            person_id=person.pk, status=RequestStatus.OPEN
        ).order_by("-id")
    ]


register_deposit_purpose(PurposeKind.REQUEST, _resolve_document_request, lister=_list_document_requests)


def open_purposes(*, actor: Actor, person_id: int | None = None) -> list[OpenPurpose]:
    """Every purpose the person can deposit for now (document requests, cases' missing documents, ...), newest
    first: one query per registered kind that lists. An agent names a person of their caisse."""
    person = _scoped_person(actor, person_id)
    found: list[OpenPurpose] = []
    for kind in registered_purpose_kinds():
        lister = _listers.get(kind)
        if lister is not None:
            found.extend(item for item in lister(person) if item.purpose.is_open)
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda item: item.since or epoch, reverse=True)


def request_documents(
    *,
    actor: Actor,
    channel: str,
    person_id: int,
    document_types: Sequence[str],
    label: str,
    processing_kind: str = "",
    deadline: dt.date | None = None,
) -> DocumentRequest:
    """Ask a person for documents (a DocumentRequest, the purpose kind "request")."""
    person = _scoped_person(actor, person_id)
    fields: dict[str, str] = {}
    unknown = [t for t in document_types if t not in DocumentType.values]
    if not document_types or unknown:
        fields["document_types"] = _("one or more of %(all)s") % {"all": ", ".join(DocumentType.values)}
    if not label.strip() or len(label) > 200:
        fields["label"] = _("between 1 and 200 characters")
    if processing_kind and processing_kind not in ProcessingKind.values:
        fields["processing_kind"] = _("must be one of %(all)s") % {"all": ", ".join(ProcessingKind.values)}
    if fields:
        raise InvalidInput.from_fields(fields)
    return DocumentRequest.objects.create(
        person=person,
        document_types=list(dict.fromkeys(document_types)),
        label=label.strip(),
        processing_kind=processing_kind,
        deadline=deadline,
        requested_by=actor.user if actor.kind == ActorKind.AGENT else None,
    )


def person_for_agent(*, actor: Actor, person_id: int) -> Person:
    """A person of the agent's caisse (another caisse's person answers like a missing one)."""
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to caisse staff"))
    return _scoped_person(actor, person_id)


def open_requests(*, actor: Actor, person_id: int | None = None) -> list[DocumentRequest]:
    """The open document requests of the insured actor (or, for an agent, of a person of their caisse)."""
    if actor.kind == ActorKind.INSURED:
        person_id = actor.person_id
    elif person_id is not None:
        _scoped_person(actor, person_id)
    if person_id is None:
        return []
    return list(
        DocumentRequest.objects.filter(person_id=person_id, status=RequestStatus.OPEN).order_by("-id")
    )
