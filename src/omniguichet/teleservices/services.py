"""The teleservice engine: each online service is declared ONCE here (code, title, audience, input schema,
required documents, eligibility, channels, motive, self-service, handler) and offered from that declaration on
the web account, the mobile-app API, the kiosk and the agent console. Every use is a `TeleserviceRequest`
(idempotent by key) and a Contact in the customer record."""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from omniguichet.accounts import services as accounts
from omniguichet.accounts.models import AccountStatus
from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError, collect
from omniguichet.core.text import check_text
from omniguichet.crm.models import Outcome, SubjectKind
from omniguichet.crm.services import record_contact
from omniguichet.referential import validators
from omniguichet.referential.models import ContactPointKind, Person, Sex
from omniguichet.referential.services import create_person
from omniguichet.teleservices.models import (
    Attestation,
    AttestationKind,
    BankDetails,
    CardKind,
    CardOrder,
    Reimbursement,
    RequestStatus,
    SickPayPayment,
    TeleserviceRequest,
)

# --- the declaration -----------------------------------------------------------------------------------------
AUDIENCE_INSURED, AUDIENCE_EMPLOYER, AUDIENCE_PROFESSIONAL = "insured", "employer", "professional"
# Where a service can be offered. "agent" is the agent console (and an agent's API token), on behalf of a person.
OFFER_WEB, OFFER_APP, OFFER_KIOSK, OFFER_AGENT = "web", "app", "kiosk", "agent"
ALL_OFFERS = frozenset({OFFER_WEB, OFFER_APP, OFFER_KIOSK, OFFER_AGENT})
# The contact channels an agent acts through when using a service on someone's behalf.
AGENT_CHANNELS = (Channel.PHONE, Channel.RECEPTION, Channel.EMAIL, Channel.LETTER)
CHANNEL_LABELS = {
    OFFER_WEB: gettext_lazy("the web account"),
    OFFER_APP: gettext_lazy("the mobile app"),
    OFFER_KIOSK: gettext_lazy("the kiosks"),
    OFFER_AGENT: gettext_lazy("the agent console"),
}
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
DOCUMENT_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


@dataclass(frozen=True)
class InputField:
    """One input of a service. kinds: text, date, postcode, iban, choice, file, code, nir, contact."""

    name: str
    label: Any
    kind: str = "text"
    required: bool = True
    max_length: int = 200
    choices: tuple[tuple[str, Any], ...] = ()
    hint: Any = ""
    # For a file: the documents app's DocumentType it is deposited as (checks, encryption, routing to a basket).
    document_type: str = ""


@dataclass
class Submission:
    """What a handler receives: who acts, on which channel, for whom, the request row and the cleaned input."""

    actor: Actor
    channel: str
    person: Person
    request: TeleserviceRequest
    data: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class ServiceResult:
    status: str
    message: str
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Teleservice:
    code: str
    title: Any
    description: Any
    audience: frozenset[str]
    fields: tuple[InputField, ...]
    channels: frozenset[str]
    motive: str
    self_service: bool
    handler: Callable[[Submission], ServiceResult]
    required_documents: tuple[str, ...] = ()
    # None when the person may use it, otherwise the reason (in plain words) why not.
    eligibility: Callable[[Person], str | None] | None = None
    # The document a request produces, if any: "pdf" or "pdf,csv".
    document: str = ""

    def field_map(self) -> dict[str, InputField]:
        return {f.name: f for f in self.fields}


CATALOGUE: dict[str, Teleservice] = {}


def register(service: Teleservice) -> Teleservice:
    CATALOGUE[service.code] = service
    return service


def get_service(code: str) -> Teleservice:
    service = CATALOGUE.get(code)
    if service is None:
        raise NotFound(_("no online service %(code)s") % {"code": code})
    return service


# --- input cleaning, from the schema --------------------------------------------------------------------------
def _clean_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if "/" in text:
            day, month, year = (int(p) for p in text.split("/"))
            return dt.date(year, month, day)
        return parse_date(text)
    except ValueError:
        return None


def validate_iban(value: str) -> str:
    try:
        return str(stdnum_iban.validate(value))
    except InvalidLength:
        raise ValidationError(_("the IBAN does not have the length of its country")) from None
    except InvalidChecksum:
        raise ValidationError(_("the IBAN check digits do not match: check for a typing error")) from None
    except (InvalidFormat, ValidationError):
        raise ValidationError(_("is not an IBAN (e.g. FR76 3000 6000 0112 3456 7890 189)")) from None


def _decode_file(value: Any) -> tuple[str, bytes] | None:
    """A file from the web (an UploadedFile) or from the API (base64 text, or {"filename", "content_base64"})."""
    if hasattr(value, "read") and hasattr(value, "name"):
        if getattr(value, "size", 0) > MAX_DOCUMENT_BYTES:
            return ("", b"")
        return (str(value.name)[:200], value.read())
    name = "document"
    if isinstance(value, dict):
        name = str(value.get("filename") or name)[:200]
        value = value.get("content_base64")
    if not isinstance(value, str) or len(value) > MAX_DOCUMENT_BYTES * 4 // 3 + 8:
        return None
    try:
        return (name, base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return None


def clean_input(
    service: Teleservice, raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Check every declared field; the error names each refused field with its reason. Unknown fields too."""
    fields: dict[str, str] = {}
    data: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    known = service.field_map()
    for name in raw:
        if name not in known:
            fields[str(name)[:40]] = _("unknown field")
    for spec in service.fields:
        value = raw.get(spec.name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", [], {}):
            if spec.required:
                fields[spec.name] = _("is required")
            continue
        if spec.kind == "file":
            decoded = _decode_file(value)
            if decoded is None:
                fields[spec.name] = _("must be a file (base64 in the API)")
            elif not decoded[1] or len(decoded[1]) > MAX_DOCUMENT_BYTES:
                fields[spec.name] = _("must be a non-empty file of at most 5 MB")
            elif not any(decoded[1].startswith(sig) for sig in DOCUMENT_SIGNATURES):
                fields[spec.name] = _("must be a PDF, JPEG or PNG file")
            else:
                files[spec.name] = decoded
            continue
        if not isinstance(value, str):
            if spec.kind == "date" and isinstance(value, dt.date):
                value = value.isoformat()
            else:
                fields[spec.name] = _("must be a text")
                continue
        if check_text(fields, spec.name, value, spec.max_length) is None:
            continue
        if spec.kind == "date":
            parsed = _clean_date(value)
            if parsed is None:
                fields[spec.name] = _("enter a date as DD/MM/YYYY")
            else:
                data[spec.name] = parsed
        elif spec.kind == "postcode":
            postcode = collect(fields, spec.name, validators.validate_postcode, value)
            if postcode is not None:
                data[spec.name] = postcode
        elif spec.kind == "iban":
            try:
                data[spec.name] = validate_iban(value)
            except ValidationError as exc:
                fields[spec.name] = str(exc)
        elif spec.kind == "choice":
            allowed = [c for c, _label in spec.choices]
            if value not in allowed:
                fields[spec.name] = _("must be one of %(c)s") % {"c": ", ".join(allowed)}
            else:
                data[spec.name] = value
        elif spec.kind == "nir":
            try:
                data[spec.name] = validators.validate_nir(value)
            except Exception as exc:  # django's ValidationError
                fields[spec.name] = " ".join(getattr(exc, "messages", [str(exc)]))
        elif spec.kind == "code":
            if not re.fullmatch(r"[0-9]{6}", value.replace(" ", "")):
                fields[spec.name] = _("the code has 6 digits")
            else:
                data[spec.name] = value.replace(" ", "")
        else:
            data[spec.name] = " ".join(value.split())
    if fields:
        raise InvalidInput.from_fields(fields)
    return data, files


# --- who may use what, where ----------------------------------------------------------------------------------
def _offer_of(channel: str) -> str:
    if channel in (Channel.WEB, Channel.APP, Channel.KIOSK):
        return str(channel)
    return OFFER_AGENT


def refusal(service: Teleservice, *, channel: str, person: Person) -> Forbidden | None:
    """Why the service cannot be used here by this person (403 with the reason), or None."""
    offer = _offer_of(channel)
    if offer not in service.channels:
        offered = ", ".join(str(CHANNEL_LABELS[c]) for c in sorted(service.channels))
        return Forbidden(
            _("the service %(s)s is not offered on %(c)s (offered on: %(o)s)")
            % {"s": service.code, "c": CHANNEL_LABELS[offer], "o": offered or "-"},
            code="not_offered",
        )
    if AUDIENCE_INSURED not in service.audience:
        return Forbidden(
            _("the service %(s)s is reserved to %(a)s")
            % {"s": service.code, "a": ", ".join(sorted(service.audience))},
            code="not_open",
        )
    if service.eligibility is not None:
        reason = service.eligibility(person)
        if reason:
            return Forbidden(reason, code="not_eligible")
    return None


def _person_for(*, actor: Actor, channel: str, person_id: Any) -> Person:
    """The person the service is used for: the insured themself, or (for an agent) a person of their caisse."""
    if actor.kind == ActorKind.INSURED:
        if actor.person_id is None:
            raise Forbidden(_("reserved to insured persons with an online account"))
        if person_id not in (None, actor.person_id):
            raise Forbidden(_("an insured person acts only for themself"), fields={"person_id": _("not you")})
        if channel not in (Channel.WEB, Channel.APP, Channel.KIOSK):
            raise Forbidden(_("insured persons use the web account, the app or a kiosk"))
        person = Person.objects.select_related("caisse", "account").get(pk=actor.person_id)
        if person.account.status != AccountStatus.ACTIVE:
            raise Forbidden(
                _("this online account is %(s)s") % {"s": person.account.get_status_display()}, code="account"
            )
        return person
    if actor.kind == ActorKind.AGENT:
        if channel not in AGENT_CHANNELS:
            raise InvalidInput.from_fields(
                {"channel": _("must be one of %(c)s") % {"c": ", ".join(c.value for c in AGENT_CHANNELS)}}
            )
        if not isinstance(person_id, int) or isinstance(person_id, bool):
            raise InvalidInput.from_fields(
                {"person_id": _("an agent acts on behalf of a person: give person_id")}
            )
        found = scope_to_caisse(Person.objects.select_related("caisse"), actor).filter(pk=person_id).first()
        if found is None:
            raise NotFound(_("no such person"))
        return found
    raise Forbidden(_("online services are used by insured persons or by agents on their behalf"))


@dataclass
class ServiceView:
    """A service as one actor sees it on one channel."""

    code: str
    title: str
    description: str
    audience: list[str]
    channels: list[str]
    motive: str
    self_service: bool
    required_documents: list[str]
    fields: list[InputField]
    document: str
    available: bool
    reason: str


def offered_services(*, actor: Actor, channel: str, person: Person | None = None) -> list[ServiceView]:
    """The catalogue for this actor on this channel, with whether each service is open to them and why not."""
    if person is None:
        person = (
            _person_for(actor=actor, channel=channel, person_id=actor.person_id) if actor.person_id else None
        )
    offer = _offer_of(channel)
    views = []
    for service in CATALOGUE.values():
        if offer not in service.channels or AUDIENCE_INSURED not in service.audience:
            continue
        refused = refusal(service, channel=channel, person=person) if person is not None else None
        views.append(
            ServiceView(
                code=service.code,
                title=str(service.title),
                description=str(service.description),
                audience=sorted(service.audience),
                channels=sorted(service.channels),
                motive=service.motive,
                self_service=service.self_service,
                required_documents=list(service.required_documents),
                fields=list(service.fields),
                document=service.document,
                available=refused is None,
                reason=refused.message if refused else "",
            )
        )
    return views


# --- using a service ----------------------------------------------------------------------------------------
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
        with transaction.atomic():
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
                    actor=actor, channel=channel, person=person, request=request, data=clean, files=files
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


# --- pieces sent with a request: through the documents app ---------------------------------------------------
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


# --- eligibility rules --------------------------------------------------------------------------------------
def _rights_open(person: Person) -> str | None:
    today = timezone.localdate()
    if person.rights_from is None or person.rights_from > today:
        return _("your rights are not open yet")
    if person.rights_to is not None and person.rights_to < today:
        return _("your rights closed on %(d)s") % {"d": person.rights_to.strftime("%d/%m/%Y")}
    return None


def _has_sick_pay(person: Person) -> str | None:
    if not SickPayPayment.objects.filter(person=person).exists():
        return _("no daily allowance was paid to you")
    return None


def _is_adult_holder(person: Person) -> str | None:
    if person.parent_id is not None:
        return _("a dependant cannot attach a child; the parent's account can")
    return None


# --- verification codes and documents ------------------------------------------------------------------------
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: a code is typed by hand


def new_verification_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def normalise_verification_code(text: str) -> str:
    chars = re.sub(r"[\s\-]", "", str(text)).upper()[:24]
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}" if len(chars) == 12 else chars


def verify_attestation(*, code: str) -> Attestation | None:
    """The attestation with that code, if genuine (anyone may check; shows what it certified, masked)."""
    normal = normalise_verification_code(code)
    if len(normal) != 14:
        return None
    return Attestation.objects.filter(code=normal).first()


def _issue_attestation(
    person: Person, request: TeleserviceRequest | None, kind: str, content: dict
) -> Attestation:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Attestation.objects.create(
                    code=new_verification_code(),
                    kind=kind,
                    person=person,
                    request=request,
                    issued_at=timezone.now(),
                    content=content,
                )
        except IntegrityError:
            continue
    raise Conflict(_("could not draw a unique verification code"))


def rights_content(person: Person) -> dict[str, Any]:
    dependants = [
        {"name": d.display_name, "birth_date": d.birth_date.isoformat(), "nir": validators.mask_nir(d.nir)}
        for d in person.beneficiaries.order_by("birth_date")
    ]
    return {
        "name": person.display_name,
        "nir": validators.mask_nir(person.nir),
        "birth_date": person.birth_date.isoformat(),
        "caisse": f"{person.caisse.code} {person.caisse.name}",
        "rights_from": person.rights_from.isoformat() if person.rights_from else None,
        "rights_to": person.rights_to.isoformat() if person.rights_to else None,
        "address": f"{person.address_line} {person.postcode} {person.city}".strip(),
        "dependants": dependants,
    }


def _latin1(text: Any) -> str:
    # The PDF core fonts speak Latin-1: French letters fit; a few others are replaced.
    return (
        str(text)
        .replace("•", "*")
        .replace("—", "-")
        .replace("\u2019", "'")
        .replace("œ", "oe")
        .replace("Œ", "OE")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def _date_fr(value: str | None) -> str:
    if not value:
        return "-"
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y")


def _pdf_start(title: str):
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # faster to write, and the text stays searchable
    pdf.set_creator("omniguichet")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Assurance Maladie", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    return pdf


def _line(pdf, text: str, *, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 11)
    pdf.cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _pdf_footer(pdf, code: str, issued: dt.datetime) -> None:
    pdf.ln(6)
    _line(pdf, _("Issued on %(d)s") % {"d": timezone.localtime(issued).strftime("%d/%m/%Y %H:%M")})
    _line(pdf, _("Verification code: %(c)s") % {"c": code}, bold=True)
    _line(pdf, _("Check this document at /verify/%(c)s") % {"c": code})


def attestation_pdf(attestation: Attestation) -> bytes:
    """The PDF of an attestation, drawn from what was certified when it was issued."""
    c = attestation.content
    if attestation.kind == AttestationKind.SICK_PAY:
        pdf = _pdf_start(_("Certificate of daily allowance payments"))
        _line(pdf, c["name"], bold=True)
        _line(pdf, _("Social security number: %(n)s") % {"n": c["nir"]})
        _line(pdf, _("Period: %(a)s to %(b)s") % {"a": _date_fr(c["date_from"]), "b": _date_fr(c["date_to"])})
        pdf.ln(3)
        for p in c["payments"]:
            _line(
                pdf,
                _("%(a)s to %(b)s: %(d)s days x %(r)s EUR = %(t)s EUR, paid on %(p)s")
                % {
                    "a": _date_fr(p["from"]),
                    "b": _date_fr(p["to"]),
                    "d": p["days"],
                    "r": p["daily"],
                    "t": p["amount"],
                    "p": _date_fr(p["paid_on"]),
                },
            )
        _line(pdf, _("Total: %(t)s EUR") % {"t": c["total"]}, bold=True)
    else:
        pdf = _pdf_start(_("Certificate of rights to health insurance"))
        _line(pdf, c["name"], bold=True)
        _line(pdf, _("Social security number: %(n)s") % {"n": c["nir"]})
        _line(pdf, _("Born on %(d)s") % {"d": _date_fr(c["birth_date"])})
        _line(pdf, _("Caisse: %(c)s") % {"c": c["caisse"]})
        if c["address"]:
            _line(pdf, c["address"])
        pdf.ln(3)
        rights_to = _date_fr(c["rights_to"]) if c["rights_to"] else _("no end date")
        _line(
            pdf,
            _("Rights open from %(a)s to %(b)s") % {"a": _date_fr(c["rights_from"]), "b": rights_to},
            bold=True,
        )
        if c["dependants"]:
            pdf.ln(2)
            _line(pdf, _("Dependants:"), bold=True)
            for d in c["dependants"]:
                _line(pdf, f"- {d['name']}, {_date_fr(d['birth_date'])}, {d['nir']}")
    _pdf_footer(pdf, attestation.code, attestation.issued_at)
    return bytes(pdf.output())


def _reimbursements(person: Person, data: dict[str, Any]) -> list[Reimbursement]:
    rows = Reimbursement.objects.filter(person=person)
    if data.get("date_from"):
        rows = rows.filter(care_date__gte=data["date_from"])
    if data.get("date_to"):
        rows = rows.filter(care_date__lte=data["date_to"])
    if data.get("care"):
        rows = rows.filter(label__icontains=data["care"])
    return list(rows.order_by("-care_date", "-pk")[:500])


def statement_rows(request: TeleserviceRequest) -> list[Reimbursement]:
    data = {
        k: (dt.date.fromisoformat(v) if k.startswith("date_") and v else v) for k, v in request.data.items()
    }
    return _reimbursements(request.person, data)


def statement_csv(request: TeleserviceRequest) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        ["date_soins", "date_paiement", "acte", "professionnel", "montant_depense", "montant_rembourse"]
    )
    for r in statement_rows(request):
        writer.writerow(
            [
                r.care_date.isoformat(),
                r.paid_on.isoformat(),
                r.label,
                r.professional,
                f"{r.amount_charged:.2f}".replace(".", ","),
                f"{r.amount_reimbursed:.2f}".replace(".", ","),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets spreadsheets read the accents


def statement_pdf(request: TeleserviceRequest) -> bytes:
    person = request.person
    pdf = _pdf_start(_("Statement of reimbursements"))
    _line(pdf, person.display_name, bold=True)
    _line(pdf, _("Social security number: %(n)s") % {"n": validators.mask_nir(person.nir)})
    pdf.ln(3)
    total = Decimal("0")
    for r in statement_rows(request):
        total += r.amount_reimbursed
        _line(pdf, f"{r.care_date:%d/%m/%Y}  {r.label}  {r.professional}  {r.amount_reimbursed:.2f} EUR")
    _line(pdf, _("Total reimbursed: %(t)s EUR") % {"t": f"{total:.2f}"}, bold=True)
    return bytes(pdf.output())


def request_document(*, actor: Actor, request_id: int, fmt: str = "pdf") -> tuple[bytes, str, str]:
    """The document a request produced: (content, content type, file name)."""
    request = get_request(actor=actor, request_id=request_id)
    service = CATALOGUE.get(request.service)
    if service is None or not service.document or fmt not in service.document.split(","):
        raise NotFound(_("this request has no document in format %(f)s") % {"f": fmt})
    if request.service == "releve_remboursements":
        if fmt == "csv":
            return statement_csv(request), "text/csv; charset=utf-8", f"releve-{request.pk}.csv"
        return statement_pdf(request), "application/pdf", f"releve-{request.pk}.pdf"
    attestation = Attestation.objects.filter(request=request).first()
    if attestation is None:
        raise NotFound(_("no such request"))
    return attestation_pdf(attestation), "application/pdf", f"attestation-{attestation.code}.pdf"


# --- handlers ---------------------------------------------------------------------------------------------
def _document_result(request: TeleserviceRequest, fmt: str = "pdf") -> dict[str, Any]:
    return {"document_formats": fmt.split(","), "document_request_id": request.pk}


def handle_attestation_droits(s: Submission) -> ServiceResult:
    attestation = _issue_attestation(s.person, s.request, AttestationKind.RIGHTS, rights_content(s.person))
    return ServiceResult(
        RequestStatus.DONE,
        _("Your certificate of rights is ready (verification code %(c)s).") % {"c": attestation.code},
        {"verification_code": attestation.code, **_document_result(s.request)},
    )


def handle_attestation_ij(s: Submission) -> ServiceResult:
    today = timezone.localdate()
    date_from = s.data.get("date_from") or today - dt.timedelta(days=365)
    date_to = s.data.get("date_to") or today
    if date_to < date_from:
        raise InvalidInput.from_fields({"date_to": _("must not be before date_from")})
    payments = list(
        SickPayPayment.objects.filter(person=s.person, paid_on__gte=date_from, paid_on__lte=date_to).order_by(
            "period_from"
        )
    )
    if not payments:
        raise InvalidInput.from_fields({"date_from": _("no daily allowance was paid in this period")})
    total = sum((p.amount for p in payments), Decimal("0"))
    content = {
        "name": s.person.display_name,
        "nir": validators.mask_nir(s.person.nir),
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "total": f"{total:.2f}",
        "payments": [
            {
                "from": p.period_from.isoformat(),
                "to": p.period_to.isoformat(),
                "days": p.days,
                "daily": f"{p.daily_amount:.2f}",
                "amount": f"{p.amount:.2f}",
                "paid_on": p.paid_on.isoformat(),
            }
            for p in payments
        ],
    }
    attestation = _issue_attestation(s.person, s.request, AttestationKind.SICK_PAY, content)
    return ServiceResult(
        RequestStatus.DONE,
        _("Your certificate of %(n)d daily allowance payments is ready.") % {"n": len(payments)},
        {"verification_code": attestation.code, "total": f"{total:.2f}", **_document_result(s.request)},
    )


def handle_releve(s: Submission) -> ServiceResult:
    if s.data.get("date_from") and s.data.get("date_to") and s.data["date_to"] < s.data["date_from"]:
        raise InvalidInput.from_fields({"date_to": _("must not be before date_from")})
    rows = _reimbursements(s.person, s.data)
    total = sum((r.amount_reimbursed for r in rows), Decimal("0"))
    lines = [
        {
            "care_date": r.care_date.isoformat(),
            "paid_on": r.paid_on.isoformat(),
            "care": r.label,
            "professional": r.professional,
            "charged": f"{r.amount_charged:.2f}",
            "reimbursed": f"{r.amount_reimbursed:.2f}",
        }
        for r in rows[:100]
    ]
    return ServiceResult(
        RequestStatus.DONE,
        _("%(n)d reimbursements, %(t)s EUR in all.") % {"n": len(rows), "t": number_format(total, 2)},
        {
            "count": len(rows),
            "total": f"{total:.2f}",
            "lines": lines,
            **_document_result(s.request, "pdf,csv"),
        },
    )


def _card_order(s: Submission, kind: str, reason: str, days: int) -> CardOrder:
    since = timezone.now() - dt.timedelta(days=days)
    if CardOrder.objects.filter(person=s.person, kind=kind, ordered_at__gte=since).exists():
        raise Conflict(
            _("a card was already ordered less than %(d)d days ago; it is on its way") % {"d": days},
            code="already_ordered",
        )
    order = CardOrder.objects.create(
        person=s.person,
        kind=kind,
        reason=reason,
        request=s.request,
        ordered_at=timezone.now(),
        expected_by=timezone.localdate() + dt.timedelta(days=days),
    )
    _open_card_case(s, kind, order.expected_by)
    return order


CARD_CASE_TYPES: dict[str, tuple[str, str]] = {
    CardKind.EHIC: ("european_card", "TS-CEAM"),
    CardKind.VITALE: ("vitale_card", "TS-VITALE"),
}


def card_case_reference(kind: str, request: TeleserviceRequest) -> str:
    """The reference of the case a card order opens: one per request, so a replay finds the same case."""
    return f"{CARD_CASE_TYPES[kind][1]}-{request.pk}"


def _open_card_case(s: Submission, kind: str, expected_by: dt.date) -> None:
    """A card is made by the back office: the order opens a case (like the CSS request), so the person follows
    it in their cases and the back office's "card shipped" event lands on it (it numbers from 2 on)."""
    from omniguichet.cases.services import open_case_from_request

    open_case_from_request(
        actor=s.actor,
        channel=s.channel,
        person=s.person,
        case_type=CARD_CASE_TYPES[kind][0],
        reference=card_case_reference(kind, s.request),
        expected_decision_on=expected_by,
    )


def _address(person: Person) -> str:
    return f"{person.address_line}, {person.postcode} {person.city}".strip(", ")


def handle_carte_europeenne(s: Submission) -> ServiceResult:
    departure = s.data.get("departure_date")
    if departure is not None and departure < timezone.localdate():
        raise InvalidInput.from_fields({"departure_date": _("cannot be in the past")})
    order = _card_order(s, CardKind.EHIC, "order", 15)
    message = _("Your European card will be sent to %(a)s by %(d)s.") % {
        "a": _address(s.person),
        "d": order.expected_by.strftime("%d/%m/%Y"),
    }
    if departure is not None and departure < order.expected_by:
        message += " " + _(
            "You leave before: a provisional replacement certificate is available at your caisse."
        )
    return ServiceResult(RequestStatus.PENDING, message, {"expected_by": order.expected_by.isoformat()})


def handle_perte_vol_vitale(s: Submission) -> ServiceResult:
    if s.data["declared_on"] > timezone.localdate():
        raise InvalidInput.from_fields({"declared_on": _("cannot be in the future")})
    order = _card_order(s, CardKind.VITALE, s.data["reason"], 14)
    return ServiceResult(
        RequestStatus.PENDING,
        _("Your card is cancelled and a new carte Vitale is ordered; it will reach %(a)s by %(d)s.")
        % {"a": _address(s.person), "d": order.expected_by.strftime("%d/%m/%Y")},
        {"expected_by": order.expected_by.isoformat()},
    )


def handle_changement_adresse(s: Submission) -> ServiceResult:
    person = s.person
    old = _address(person)
    person.address_line = s.data["address_line"]
    person.postcode = s.data["postcode"]
    person.city = s.data["city"]
    person.save(update_fields=["address_line", "postcode", "city", "updated_at"])
    s.request.data = {**s.request.data, "previous_address": old}
    s.request.save(update_fields=["data"])
    return ServiceResult(RequestStatus.DONE, _("Your address is now %(a)s.") % {"a": _address(person)}, {})


def handle_changement_rib(s: Submission) -> ServiceResult:
    iban = s.data["iban"]
    BankDetails.objects.update_or_create(
        person=s.person, defaults={"iban": iban, "holder": s.data["holder"], "updated_at": timezone.now()}
    )
    s.request.data = {**s.request.data, "iban": f"{iban[:4]}…{iban[-4:]}"}  # the full IBAN is not kept twice
    s.request.save(update_fields=["data"])
    return ServiceResult(
        RequestStatus.DONE,
        _("Your reimbursements will now be paid to the account ending in %(e)s.") % {"e": iban[-4:]},
        {},
    )


def handle_changement_contact(s: Submission) -> ServiceResult:
    if s.data.get("code"):
        if not s.data.get("challenge"):
            raise InvalidInput.from_fields({"challenge": _("is required with the code")})
        point = accounts.confirm_contact_change(
            actor=s.actor,
            channel=s.channel,
            person=s.person,
            challenge=s.data["challenge"],
            code=s.data["code"],
        )
        return ServiceResult(
            RequestStatus.DONE,
            _("Your %(k)s is now %(v)s.") % {"k": point.get_kind_display(), "v": point.value},
            {},
        )
    if not s.data.get("value"):
        raise InvalidInput.from_fields({"value": _("is required")})
    otc = accounts.start_contact_change(
        actor=s.actor, channel=s.channel, person=s.person, kind=s.data["kind"], value=s.data["value"]
    )
    return ServiceResult(
        RequestStatus.AWAITING_CODE,
        _("A code was sent to %(t)s: enter it to confirm the change.") % {"t": otc.target},
        {"challenge": otc.challenge, "kind": s.data["kind"]},
    )


def handle_rattachement_enfant(s: Submission) -> ServiceResult:
    d = s.data
    today = timezone.localdate()
    fields: dict[str, str] = {}
    if d["birth_date"] > today:
        fields["birth_date"] = _("cannot be in the future")
    elif (today - d["birth_date"]).days > 16 * 365.25:
        fields["birth_date"] = _("a child of 16 or more has their own account")
    if fields:
        raise InvalidInput.from_fields(fields)
    existing = Person.objects.filter(nir=d["nir"]).first()
    if existing is not None:
        if existing.parent_id == s.person.pk:
            raise Conflict(_("this child is already attached to you"), fields={"nir": _("already attached")})
        raise Conflict(
            _("this child is already registered: your caisse will contact you"),
            fields={"nir": _("already registered")},
        )
    child = create_person(
        actor=Actor.system("teleservice"),
        channel=Channel.BACKOFFICE,
        nir=d["nir"],
        given_names=d["given_names"],
        family_name=d["family_name"],
        birth_date=d["birth_date"],
        sex=d["sex"],
        birth_place=d["birth_place"],
        caisse_code=s.person.caisse_id,
        address_line=s.person.address_line,
        postcode=s.person.postcode,
        city=s.person.city,
        parent_id=s.person.pk,
        rights_from=today,
    )
    return ServiceResult(
        RequestStatus.DONE,
        _("%(n)s is attached to you and covered from %(d)s.")
        % {"n": child.display_name, "d": today.strftime("%d/%m/%Y")},
        {"child_id": child.pk},
    )


# The documents a CSS case waits for (code, label as the back office and the messages name them), how long the
# person has to send them, and the legal time to decide.
CSS_DOCUMENTS = (
    ("avis_imposition", "Dernier avis d'imposition du foyer"),
    ("justificatifs_ressources", "Justificatifs des ressources des 12 derniers mois"),
)
CSS_DOCUMENTS_DAYS = 30
CSS_DECISION_DAYS = 60
MAX_RESOURCES = Decimal("10000000")


def parse_euros(text: str) -> Decimal | None:
    """An amount in euros as people type it ("9 850", "9850,50", "9 850 €"), from 0 to 10 million with at most
    2 decimals; None when it is not one."""
    clean = re.sub(r"[\s\u00a0\u202f]", "", text).removesuffix("€").replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,8}(\.[0-9]{1,2})?", clean):
        return None
    amount = Decimal(clean)
    return amount.quantize(Decimal("0.01")) if amount < MAX_RESOURCES else None


def css_case_reference(request: TeleserviceRequest) -> str:
    """The reference of the case a CSS request opens: one per request, so a replay finds the same case."""
    return f"TS-CSS-{request.pk}"


def handle_css(s: Submission) -> ServiceResult:
    """Complémentaire santé solidaire: opens a case (type css) waiting for its documents, through the cases
    services; one request in progress at a time."""
    from omniguichet.cases.models import OPEN_STATUSES, Case, CaseType
    from omniguichet.cases.services import open_case_from_request

    resources = parse_euros(s.data["annual_resources"])
    if resources is None:
        raise InvalidInput.from_fields(
            {"annual_resources": _("must be an amount in euros, e.g. 9 850 or 9850,50")}
        )
    current = (
        Case.objects.filter(person=s.person, case_type=CaseType.CSS, status__in=OPEN_STATUSES)
        .order_by("-opened_at")
        .first()
    )
    if current is not None:
        raise Conflict(
            _("a request for the Complémentaire santé solidaire is already in progress (case %(r)s)")
            % {"r": current.reference},
            code="in_progress",
        )
    today = timezone.localdate()
    due = today + dt.timedelta(days=CSS_DOCUMENTS_DAYS)
    decide_by = today + dt.timedelta(days=CSS_DECISION_DAYS)
    case = open_case_from_request(
        actor=s.actor,
        channel=s.channel,
        person=s.person,
        case_type=CaseType.CSS,
        reference=css_case_reference(s.request),
        required_documents=CSS_DOCUMENTS,
        documents_due_on=due,
        expected_decision_on=decide_by,
    )
    s.request.data = {**s.request.data, "annual_resources": str(resources)}
    s.request.save(update_fields=["data"])
    labels = "; ".join(label for _code, label in CSS_DOCUMENTS)
    return ServiceResult(
        RequestStatus.PENDING,
        _(
            "Your request is registered as case %(r)s. Send these documents before %(due)s: %(docs)s. "
            "We will decide by %(decide)s; you will find the case in your account."
        )
        % {
            "r": case.reference,
            "due": due.strftime("%d/%m/%Y"),
            "docs": labels,
            "decide": decide_by.strftime("%d/%m/%Y"),
        },
        {
            "case_reference": case.reference,
            "documents": [{"code": code, "label": label} for code, label in CSS_DOCUMENTS],
            "documents_due_on": due.isoformat(),
            "expected_decision_on": decide_by.isoformat(),
        },
    )


# --- motives of the services that the crm taxonomy does not have ----------------------------------------------
MOTIVES = {
    "changement_contact": "Changement d'e-mail ou de téléphone",
    "rattachement_enfant": "Rattachement d'un enfant",
    # The one-time codes of the online account (accounts.services.CODE_MOTIVE): the SMS, e-mails and letters sent.
    "compte_en_ligne": "Compte en ligne (activation, connexion, codes)",
}


def load_motives(motive_model: Any = None) -> int:
    """Add the motives above to the crm taxonomy when missing (the data migration passes its historical model)."""
    if motive_model is None:
        from omniguichet.crm.models import Motive as motive_model
    existing = set(motive_model.objects.filter(code__in=MOTIVES).values_list("code", flat=True))
    motive_model.objects.bulk_create(
        [motive_model(code=code, label=label) for code, label in MOTIVES.items() if code not in existing]
    )
    return len(MOTIVES)


# --- the catalogue ------------------------------------------------------------------------------------------
_DATE_FROM = InputField(
    "date_from", gettext_lazy("From"), kind="date", required=False, hint=gettext_lazy("DD/MM/YYYY")
)
_DATE_TO = InputField(
    "date_to", gettext_lazy("To"), kind="date", required=False, hint=gettext_lazy("DD/MM/YYYY")
)
_INSURED = frozenset({AUDIENCE_INSURED})

register(
    Teleservice(
        code="attestation_droits",
        title=gettext_lazy("Certificate of rights"),
        description=gettext_lazy("Download a certificate of your rights, with your dependants."),
        audience=_INSURED,
        fields=(),
        channels=ALL_OFFERS,
        motive="attestation_droits",
        self_service=True,
        handler=handle_attestation_droits,
        document="pdf",
        eligibility=lambda p: None if p.rights_from else _("no rights are recorded for you"),
    )
)
register(
    Teleservice(
        code="releve_remboursements",
        title=gettext_lazy("Statement of reimbursements"),
        description=gettext_lazy(
            "Your reimbursements of care, filtered by date or care; PDF or spreadsheet."
        ),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="releve_remboursements",
        self_service=True,
        fields=(
            _DATE_FROM,
            _DATE_TO,
            InputField("care", gettext_lazy("Care contains"), required=False, max_length=60),
        ),
        handler=handle_releve,
        document="pdf,csv",
    )
)
register(
    Teleservice(
        code="attestation_ij",
        title=gettext_lazy("Certificate of daily allowance payments"),
        description=gettext_lazy(
            "The daily allowances paid to you during sick leave (last 12 months by default)."
        ),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="attestation_ij",
        self_service=True,
        fields=(_DATE_FROM, _DATE_TO),
        handler=handle_attestation_ij,
        eligibility=_has_sick_pay,
        document="pdf",
    )
)
register(
    Teleservice(
        code="carte_europeenne",
        title=gettext_lazy("European health insurance card"),
        description=gettext_lazy("Order your European card before travelling in Europe."),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="carte_europeenne",
        self_service=True,
        fields=(
            InputField(
                "departure_date",
                gettext_lazy("Departure date"),
                kind="date",
                required=False,
                hint=gettext_lazy("DD/MM/YYYY"),
            ),
        ),
        handler=handle_carte_europeenne,
        eligibility=_rights_open,
    )
)
register(
    Teleservice(
        code="perte_vol_vitale",
        title=gettext_lazy("Lost or stolen carte Vitale"),
        description=gettext_lazy("Declare the loss or theft of your carte Vitale and order a new one."),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="carte_vitale",
        self_service=True,
        fields=(
            InputField(
                "reason",
                gettext_lazy("What happened"),
                kind="choice",
                choices=(
                    ("lost", gettext_lazy("lost")),
                    ("stolen", gettext_lazy("stolen")),
                    ("damaged", gettext_lazy("damaged")),
                ),
            ),
            InputField("declared_on", gettext_lazy("Since"), kind="date", hint=gettext_lazy("DD/MM/YYYY")),
        ),
        handler=handle_perte_vol_vitale,
        eligibility=_rights_open,
    )
)
register(
    Teleservice(
        code="changement_adresse",
        title=gettext_lazy("Change of address"),
        description=gettext_lazy("Tell us your new postal address."),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="changement_adresse",
        self_service=True,
        fields=(
            InputField("address_line", gettext_lazy("Number and street"), max_length=200),
            InputField("postcode", gettext_lazy("Postcode"), kind="postcode", max_length=5),
            InputField("city", gettext_lazy("City"), max_length=100),
        ),
        handler=handle_changement_adresse,
    )
)
register(
    Teleservice(
        code="changement_rib",
        title=gettext_lazy("Change of bank details"),
        description=gettext_lazy(
            "The account where your reimbursements are paid (with your bank details document)."
        ),
        audience=_INSURED,
        channels=frozenset({OFFER_WEB, OFFER_APP, OFFER_AGENT}),
        motive="changement_rib",
        self_service=True,
        required_documents=("rib_document",),
        fields=(
            InputField(
                "iban",
                gettext_lazy("IBAN"),
                kind="iban",
                max_length=42,
                hint=gettext_lazy("e.g. FR76 3000 6000 0112 3456 7890 189"),
            ),
            InputField("holder", gettext_lazy("Account holder"), max_length=140),
            InputField(
                "rib_document",
                gettext_lazy("Bank details document (PDF, JPEG or PNG, 5 MB at most)"),
                kind="file",
                document_type="bank_details",
            ),
        ),
        handler=handle_changement_rib,
    )
)
register(
    Teleservice(
        code="changement_contact",
        title=gettext_lazy("Change of e-mail or mobile"),
        description=gettext_lazy("A new e-mail address or mobile number, confirmed by a code sent to it."),
        audience=_INSURED,
        channels=frozenset({OFFER_WEB, OFFER_APP, OFFER_AGENT}),
        motive="changement_contact",
        self_service=True,
        fields=(
            InputField(
                "kind",
                gettext_lazy("What changes"),
                kind="choice",
                choices=(
                    (ContactPointKind.EMAIL.value, gettext_lazy("e-mail")),
                    (ContactPointKind.MOBILE.value, gettext_lazy("mobile phone")),
                ),
            ),
            InputField("value", gettext_lazy("New e-mail or mobile"), required=False, max_length=254),
            InputField("challenge", gettext_lazy("Request"), kind="hidden", required=False, max_length=64),
            InputField("code", gettext_lazy("Code received"), kind="code", required=False, max_length=12),
        ),
        handler=handle_changement_contact,
    )
)
register(
    Teleservice(
        code="rattachement_enfant",
        title=gettext_lazy("Attach a child"),
        description=gettext_lazy("Cover your child (under 16) on your insurance."),
        audience=_INSURED,
        channels=frozenset({OFFER_WEB, OFFER_APP, OFFER_AGENT}),
        motive="rattachement_enfant",
        self_service=True,
        fields=(
            InputField("nir", gettext_lazy("Child's social security number"), kind="nir", max_length=21),
            InputField("given_names", gettext_lazy("Given names"), max_length=150),
            InputField("family_name", gettext_lazy("Family name"), max_length=100),
            InputField(
                "birth_date", gettext_lazy("Birth date"), kind="date", hint=gettext_lazy("DD/MM/YYYY")
            ),
            InputField(
                "sex", gettext_lazy("Sex"), kind="choice", choices=tuple((s.value, s.label) for s in Sex)
            ),
            InputField("birth_place", gettext_lazy("Birth place (INSEE code)"), max_length=5),
        ),
        handler=handle_rattachement_enfant,
        eligibility=_is_adult_holder,
    )
)
register(
    Teleservice(
        code="css",
        title=gettext_lazy("Complémentaire santé solidaire"),
        description=gettext_lazy(
            "Ask for the Complémentaire santé solidaire (free or low-cost complementary health cover)."
        ),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="css",
        self_service=False,
        fields=(
            InputField(
                "household_size",
                gettext_lazy("Number of persons in your household"),
                kind="choice",
                choices=tuple((str(n), str(n)) for n in range(1, 10)),
            ),
            InputField(
                "annual_resources",
                gettext_lazy("Resources of your household over the last 12 months (euros)"),
                max_length=20,
                hint=gettext_lazy("e.g. 9 850"),
            ),
        ),
        required_documents=tuple(code for code, _label in CSS_DOCUMENTS),
        handler=handle_css,
        eligibility=_rights_open,
    )
)
