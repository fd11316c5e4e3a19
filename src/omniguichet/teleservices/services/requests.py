"""Using a service: a submission run once per idempotency key as a `TeleserviceRequest`, with its contact in the
customer record, and the pieces sent with it through the documents app."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.accounts import services as accounts
from omniguichet.core.actors import Actor, ActorKind, scope_to_caisse
from omniguichet.core.db import writes_kept_on_rollback
from omniguichet.core.errors import InvalidInput, NotFound, ServiceError
from omniguichet.crm.models import Outcome, SubjectKind
from omniguichet.crm.services import record_contact
from omniguichet.referential.models import Person
from omniguichet.teleservices.models import (
    RequestStatus,
    TeleserviceRequest,
)
from omniguichet.teleservices.services.declaration import (
    CATALOGUE,
    Submission,
    Teleservice,
    clean_input,
    get_service,
)
from omniguichet.teleservices.services.offering import _person_for, refusal


@dataclass
class Used:
    request: TeleserviceRequest
    replayed: bool


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in data.items()}


def use_service(
    *,
    actor: Actor,
    channel: str,
    code: str,
    person_id: Any = None,
    data: dict[str, Any] | None = None,
    idempotency_key: Any = None,
    address: str = "",
) -> Used:
    """Use an online service: check channel, audience, eligibility and input, run the handler, record the
    request and the contact, all in one transaction. The same idempotency key for the same person and service
    returns the first request instead of doing it again."""
    service = get_service(code)
    if not isinstance(data, dict):
        raise InvalidInput.from_fields({"data": _("must be an object of the service's fields")})
    key = idempotency_key if idempotency_key not in (None, "") else secrets.token_urlsafe(24)
    if not isinstance(key, str) or len(key) > 64 or not re.fullmatch(r"[A-Za-z0-9_.:\-]+", key):
        raise InvalidInput.from_fields({"idempotency_key": _("at most 64 letters, digits or - _ . :")})
    person = _person_for(actor=actor, channel=channel, person_id=person_id)
    existing = TeleserviceRequest.objects.filter(person=person, service=code, idempotency_key=key).first()
    if existing is not None:
        return Used(request=existing, replayed=True)
    refused = refusal(service, channel=channel, person=person)
    if refused is not None:
        raise refused
    clean, files = clean_input(service, data)
    stored: list[str] = []  # files the documents app stored for this request: removed if it is rolled back
    try:
        # A handler that checks a code (an e-mail change) counts a wrong one on the code and the throttles: those
        # writes stay when its refusal rolls the request back.
        with writes_kept_on_rollback(), transaction.atomic():
            request = TeleserviceRequest.objects.create(
                service=code,
                person=person,
                channel=channel,
                actor_kind=actor.kind,
                agent=actor.user if actor.kind == ActorKind.AGENT else None,
                idempotency_key=key,
                status=RequestStatus.DONE,
                data=_json_safe(clean),
                created_at=timezone.now(),
            )
            outcome = service.handler(
                Submission(
                    actor=actor,
                    channel=channel,
                    person=person,
                    request=request,
                    data=clean,
                    files=files,
                    address=address,
                )
            )
            deposited = _deposit_files(actor, channel, person, service, request, files, stored)
            if deposited:
                outcome.result = {**outcome.result, "document_ids": deposited}
            request.status = outcome.status
            request.result = {"message": outcome.message, **outcome.result}
            request.save(update_fields=["status", "result"])
            record_contact(
                actor=actor,
                channel=channel,
                person=person,
                motive=service.motive,
                outcome=Outcome.RESOLVED if outcome.status == RequestStatus.DONE else Outcome.PENDING,
                note=str(service.title),
                subject_kind=SubjectKind.TELESERVICE,
                subject_ref=request.pk,
            )
    except IntegrityError:
        _forget_files(stored)
        # A concurrent twin (double click) committed first: answer with its request.
        existing = TeleserviceRequest.objects.filter(person=person, service=code, idempotency_key=key).first()
        if existing is None:
            raise
        return Used(request=existing, replayed=True)
    except BaseException:
        _forget_files(stored)
        raise
    return Used(request=request, replayed=False)


# A file of a request may be deposited for it during this many days (e.g. a readable copy after a refusal).
DEPOSIT_DAYS = 30


def _deposit_files(
    actor: Actor,
    channel: str,
    person: Person,
    service: Teleservice,
    request: TeleserviceRequest,
    files: dict[str, tuple[str, bytes]],
    stored: list[str],
) -> list[int]:
    """Each file of the request deposited through the documents app for the purpose ("teleservice", request id):
    its checks (a refusal names the field), encryption at rest, routing to the basket of the person's caisse.
    Returns the ids of the documents."""
    from omniguichet.documents.models import PurposeKind
    from omniguichet.documents.services import deposit_documents

    ids: list[int] = []
    specs = service.field_map()
    for name, (filename, content) in files.items():
        try:
            result = deposit_documents(
                actor=actor,
                channel=channel,
                purpose_kind=PurposeKind.TELESERVICE,
                purpose_ref=str(request.pk),
                document_type=specs[name].document_type,
                files=[(filename, content)],
                person_id=person.pk,
                with_contact=False,  # the request's own contact traces this interaction
            )
        except InvalidInput as exc:
            raise InvalidInput.from_fields({name: next(iter(exc.fields.values()), exc.message)}) from None
        except ServiceError as exc:  # FileRefused: the reason of the documents app's checks
            reason = exc.fields.get("files", exc.message)
            raise InvalidInput.from_fields({name: reason.split(": ", 1)[-1]}) from None
        ids += [d.pk for d in result.documents]
        stored += [d.file for d in result.documents]
    return ids


def _forget_files(names: list[str]) -> None:
    """The stored files of documents whose rows a rollback removed (nothing half-written, on disk either)."""
    from omniguichet.documents.services import document_storage

    storage = document_storage()
    for name in names:
        storage.delete(name)


def resolve_deposit_purpose(person: Person, ref: str) -> Any:
    """The documents app's purpose "teleservice": a request of a service that takes files, open for deposits
    DEPOSIT_DAYS after it was made (registered from TeleservicesConfig.ready())."""
    from omniguichet.documents.services import DepositPurpose

    if not ref.isdigit() or len(ref) > 18:
        raise NotFound(_("no such request for this person"))
    request = TeleserviceRequest.objects.filter(pk=int(ref)).first()
    service = CATALOGUE.get(request.service) if request is not None else None
    if request is None or service is None:
        raise NotFound(_("no such request for this person"))
    types = tuple(f.document_type for f in service.fields if f.kind == "file" and f.document_type)
    return DepositPurpose(
        label=str(service.title),
        expected_types=types,
        is_open=bool(types) and request.created_at >= timezone.now() - dt.timedelta(days=DEPOSIT_DAYS),
        person_id=request.person_id,
    )


def get_request(*, actor: Actor, request_id: int) -> TeleserviceRequest:
    """A request the actor may see: their own, or one of a person of the agent's caisse (else 404)."""
    requests = TeleserviceRequest.objects.select_related("person", "person__caisse")
    if actor.kind == ActorKind.INSURED and actor.person_id is not None:
        request = requests.filter(pk=request_id, person_id=actor.person_id).first()
    elif actor.kind == ActorKind.AGENT:
        request = scope_to_caisse(requests, actor, field="person__caisse").filter(pk=request_id).first()
    else:
        request = None
    if request is None:
        raise NotFound(_("no such request"))
    return request


def record_opened_recently(*, actor: Actor, person: Person) -> bool:
    """In the console, an agent acts for a person from their customer record: the opening of the record (with its
    purpose) is the audit entry of what follows, as for the timeline's further pages."""
    from omniguichet.crm.models import RecordAccess
    from omniguichet.crm.services import CONSULTATION_WINDOW

    return RecordAccess.objects.filter(
        person=person, user=actor.user, accessed_at__gte=timezone.now() - CONSULTATION_WINDOW
    ).exists()


def inbox_items(person: Person) -> list[accounts.InboxItem]:
    """The answers to the person's requests, for their account's inbox (one query)."""
    from django.urls import reverse

    requests = TeleserviceRequest.objects.filter(person=person).order_by("-created_at")[:30]
    return [
        accounts.InboxItem(
            ref=f"teleservice-{r.pk}",
            subject=str(CATALOGUE[r.service].title) if r.service in CATALOGUE else r.service,
            body=str(r.result.get("message", "")),
            when=r.created_at,
            url=reverse("teleservices:web_request", args=[r.pk]),
        )
        for r in requests
    ]


def recent_requests(*, actor: Actor, person: Person, limit: int = 10) -> list[TeleserviceRequest]:
    return list(TeleserviceRequest.objects.filter(person=person).order_by("-created_at")[:limit])
