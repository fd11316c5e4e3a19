"""Documents: the purposes a deposit is for (a registry other apps plug into), the checks every file passes
before anything is kept, encryption at rest, routing to the right basket of the right caisse, and the basket
work of the back office (claim, accept, reject, transfer)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import re
import secrets
import socket
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.db import PreparedQuery
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from omniguichet.core.keys import key_from_file
from omniguichet.crm.services import RecordItem, record_contact
from omniguichet.documents.models import (
    Basket,
    Deposit,
    Document,
    DocumentRequest,
    DocumentStatus,
    DocumentType,
    ProcessingKind,
    PurposeKind,
    RequestStatus,
    RoutingRule,
    Transfer,
)
from omniguichet.referential.models import Caisse, Person

DEPOSIT_MOTIVE = "depot_piece"
DEFAULT_DEADLINE_DAYS = 10
BASKET_PAGE = 50
MAX_BASKET_PAGE = 200
MAX_BULK = 200
# Channels each kind of actor deposits through.
INSURED_CHANNELS = (Channel.WEB, Channel.APP, Channel.KIOSK)
AGENT_CHANNELS = (Channel.RECEPTION, Channel.PHONE, Channel.EMAIL, Channel.LETTER)


MAX_ID = 2**63 - 1


def _valid_id(value: int | None) -> bool:
    """Ids outside a 64-bit integer name nothing (and must not reach SQLite, which overflows on them)."""
    return value is not None and 0 < value <= MAX_ID


# --- purposes: what a deposit is for ------------------------------------------------------------------------
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


# --- checks: nothing is kept unless every file of the deposit passes ----------------------------------------
class FileRefused(ServiceError):
    status = 422
    code = "invalid"


PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
_MAGIC = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
# Formats people try to send that we name in the refusal, so the reason is useful.
_KNOWN_OTHERS = (
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"MZ", "Windows executable"),
    (b"\x7fELF", "executable"),
    (b"\xd0\xcf\x11\xe0", "Microsoft Office"),
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"RIFF", "RIFF (WebP, AVI...)"),
)
# Objects or keys in a PDF that carry active content or other files.
_PDF_SCRIPT_KEYS = {"/JS", "/JavaScript"}
_PDF_FILE_KEYS = {"/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/Launch"}
MAX_PDF_OBJECTS = 200_000


def sniff_type(data: bytes) -> str | None:
    """The real type of a file from its first bytes: PDF, JPEG or PNG, else None. The name is never trusted."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return None


def _other_format(data: bytes) -> str | None:
    for magic, name in _KNOWN_OTHERS:
        if data.startswith(magic):
            return name
    return None


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check, as it will be stored (images re-encoded)."""

    name: str
    content: bytes
    content_type: str
    pages: int
    checksum: str

    @property
    def size(self) -> int:
        return len(self.content)


def _refuse(name: str, reason: str) -> FileRefused:
    message = _("file %(name)s: %(reason)s") % {"name": name, "reason": reason}
    return FileRefused(message, fields={"files": f"{name}: {reason}"})


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def check_file(name: str, data: bytes, *, declared_type: str = "") -> CheckedFile:
    """Every check of one file; raises FileRefused with the reason in plain words."""
    name = os.path.basename(name or "")[:200] or "document"
    limit = settings.OMNIGUICHET_DOCUMENT_MAX_FILE_BYTES
    if not data:
        raise _refuse(name, _("the file is empty"))
    if len(data) > limit:
        raise _refuse(name, _("the file is larger than %(mb)s MB") % {"mb": _mb(limit)})
    mime = sniff_type(data)
    if mime is None:
        other = _other_format(data)
        if other:
            raise _refuse(
                name, _("the file is a %(format)s file, not a PDF, JPEG or PNG document") % {"format": other}
            )
        raise _refuse(name, _("the file is not a PDF, JPEG or PNG document"))
    if declared_type and declared_type in EXTENSIONS and declared_type != mime:
        raise _refuse(
            name,
            _("the file claims to be %(declared)s but its content is %(real)s")
            % {"declared": declared_type, "real": mime},
        )
    if mime == PDF:
        pages = _check_pdf(name, data)
        content = data
    else:
        content = _reencode_image(name, data, mime)
        pages = 1
    virus = scan_for_viruses(content)
    if virus:
        raise _refuse(name, _("the antivirus found %(virus)s") % {"virus": virus})
    stem = os.path.splitext(name)[0][:190] or "document"
    return CheckedFile(
        name=f"{stem}.{EXTENSIONS[mime]}",
        content=content,
        content_type=mime,
        pages=pages,
        checksum=hashlib.sha256(content).hexdigest(),
    )


def _pdf_active_content(obj: object, depth: int = 0) -> str | None:
    """ "script" or "file" when a dictionary of this object, or one nested directly in it, carries JavaScript or
    other files; None otherwise. Indirect references are not followed: every indirect object is visited."""
    from pypdf.generic import ArrayObject, DictionaryObject

    if depth > 64:
        raise ValueError("nesting too deep")
    if isinstance(obj, DictionaryObject):
        keys = tuple(obj.keys())
        kinds = tuple(dict.get(obj, k) for k in ("/S", "/Type", "/Subtype"))
        if any(k in _PDF_SCRIPT_KEYS for k in keys) or "/JavaScript" in kinds:
            return "script"
        if any(k in _PDF_FILE_KEYS for k in keys) or any(k in kinds for k in _PDF_FILE_KEYS):
            return "file"
        children: Iterable[object] = dict.values(obj)
    elif isinstance(obj, ArrayObject):
        children = list.__iter__(obj)
    else:
        return None
    for child in children:
        if isinstance(child, (DictionaryObject, ArrayObject)):
            found = _pdf_active_content(child, depth + 1)
            if found:
                return found
    return None


def _check_pdf(name: str, data: bytes) -> int:
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject

    deadline = time.monotonic() + settings.OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _refuse(name, _("the PDF is protected by a password; send it without protection"))
        pages = len(reader.pages)
        ids = [(num, gen) for gen, table in reader.xref.items() for num in table]
        ids += [(num, 0) for num in reader.xref_objStm]
        if len(ids) > MAX_PDF_OBJECTS:
            raise _refuse(name, _("the PDF is too complex"))
        for num, gen in ids:
            # The time bound: checked between objects, so one check takes at most this long plus the parsing of
            # one object (linear in its size, itself bounded by the file size limit). See docs/documents.md.
            if time.monotonic() > deadline:
                raise _refuse(name, _("the PDF is too complex to be checked"))
            found = _pdf_active_content(reader.get_object(IndirectObject(num, gen, reader)))
            if found == "script":
                raise _refuse(name, _("the PDF contains JavaScript"))
            if found == "file":
                raise _refuse(name, _("the PDF contains embedded files or active content"))
    except FileRefused:
        raise
    except Exception:  # pypdf raises many kinds of errors on broken files; all mean the same to the person
        raise _refuse(name, _("the PDF is damaged and cannot be read")) from None
    if pages == 0:
        raise _refuse(name, _("the PDF has no page"))
    max_pages = settings.OMNIGUICHET_DOCUMENT_MAX_PAGES
    if pages > max_pages:
        raise _refuse(
            name, _("the PDF has %(n)d pages, at most %(max)d are accepted") % {"n": pages, "max": max_pages}
        )
    return pages


def _reencode_image(name: str, data: bytes, mime: str) -> bytes:
    """Decode and encode the image again: only pixels survive (no EXIF, no trailing data, no comments)."""
    from PIL import Image, ImageOps

    expected = "JPEG" if mime == JPEG else "PNG"
    max_pixels = settings.OMNIGUICHET_DOCUMENT_MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data), formats=[expected]) as image:
            width, height = image.size
            if width * height > max_pixels or width == 0 or height == 0:
                raise _refuse(
                    name, _("the image is too large (%(w)d x %(h)d pixels)") % {"w": width, "h": height}
                )
            image.load()
            picture: Image.Image = ImageOps.exif_transpose(image) or image
            out = io.BytesIO()
            if expected == "JPEG":
                if picture.mode not in ("RGB", "L"):
                    picture = picture.convert("RGB")
                picture.save(out, "JPEG", quality=90)
            else:
                if picture.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
                    picture = picture.convert("RGBA")
                picture.save(out, "PNG")
    except FileRefused:
        raise
    except Image.DecompressionBombError:
        raise _refuse(name, _("the image is too large")) from None
    except Exception:  # Pillow's errors on broken or hostile images (incl. DecompressionBombError)
        raise _refuse(name, _("the image is damaged and cannot be read")) from None
    return out.getvalue()


def scan_for_viruses(data: bytes) -> str | None:
    """The antivirus hook: the name of what clamd found, or None when clean or when no antivirus is configured
    (settings.OMNIGUICHET_CLAMD_SOCKET empty). When configured but unreachable, the deposit is refused: a file
    is never kept unscanned."""
    path = settings.OMNIGUICHET_CLAMD_SOCKET
    if not path:
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(path)
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), 65536):
                chunk = data[start : start + 65536]
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
    except OSError:
        raise ServiceError(
            _("the antivirus is unavailable; please try again later"), code="unavailable"
        ) from None
    text = reply.rstrip(b"\0").decode("utf-8", "replace")
    if text.endswith("OK"):
        return None
    if text.endswith("FOUND"):
        return text.removeprefix("stream:").removesuffix("FOUND").strip()
    raise ServiceError(_("the antivirus could not scan the file; please try again later"), code="unavailable")


def read_uploads(uploads: Sequence[Any]) -> list[tuple[str, bytes]]:
    """The (name, bytes) of uploaded files (Django UploadedFile), refusing oversized ones from their declared
    size before reading them into memory (Django spools big uploads to disk; they must not come back whole)."""
    limit = settings.OMNIGUICHET_DOCUMENT_MAX_FILE_BYTES
    total = settings.OMNIGUICHET_DOCUMENT_MAX_DEPOSIT_BYTES
    if len(uploads) > settings.OMNIGUICHET_DOCUMENT_MAX_FILES:
        raise InvalidInput.from_fields(
            {"files": _("at most %(n)d files per deposit") % {"n": settings.OMNIGUICHET_DOCUMENT_MAX_FILES}}
        )
    for upload in uploads:
        if (upload.size or 0) > limit:
            name = os.path.basename(upload.name or "")[:200] or "document"
            raise _refuse(name, _("the file is larger than %(mb)s MB") % {"mb": _mb(limit)})
    if sum(upload.size or 0 for upload in uploads) > total:
        raise InvalidInput.from_fields(
            {"files": _("the files together exceed %(mb)s MB") % {"mb": _mb(total)}}
        )
    return [(upload.name or "", upload.read(limit + 1)) for upload in uploads]


def check_deposit(files: Sequence[tuple[str, bytes]]) -> list[CheckedFile]:
    """Check every file of a deposit; the first refusal refuses the whole deposit."""
    if not files:
        raise InvalidInput.from_fields({"files": _("at least one file is needed")})
    if len(files) > settings.OMNIGUICHET_DOCUMENT_MAX_FILES:
        raise InvalidInput.from_fields(
            {"files": _("at most %(n)d files per deposit") % {"n": settings.OMNIGUICHET_DOCUMENT_MAX_FILES}}
        )
    limit = settings.OMNIGUICHET_DOCUMENT_MAX_DEPOSIT_BYTES
    if sum(len(data) for _name, data in files) > limit:
        raise InvalidInput.from_fields(
            {"files": _("the files together exceed %(mb)s MB") % {"mb": _mb(limit)}}
        )
    return [check_file(name, data) for name, data in files]


# --- encryption at rest -------------------------------------------------------------------------------------
MAGIC = b"OGD1"
NONCE_BYTES = 12
KEY_ID_BYTES = 8


class TamperedDocument(ServiceError):
    status = 500
    code = "tampered"


def _load_keys() -> list[bytes]:
    configured = settings.OMNIGUICHET_DOCUMENT_KEY
    if not configured:
        configured = key_from_file(settings.VAR_DIR / "document_key", generate_key)
    keys = [base64.urlsafe_b64decode(k.strip()) for k in configured.split(",") if k.strip()]
    if not keys or any(len(k) != 32 for k in keys):
        raise ValueError("OMNIGUICHET_DOCUMENT_KEY: comma-separated urlsafe base64 keys of 32 bytes")
    return keys


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"omniguichet-document-key" + key).digest()[:KEY_ID_BYTES]


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def encrypt(plain: bytes, *, associated: bytes) -> bytes:
    """AES-256-GCM with the current key: MAGIC | key id | nonce | ciphertext+tag. `associated` (the storage
    name) is authenticated, so a file moved to another document's place does not decrypt."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = _load_keys()[0]
    nonce = secrets.token_bytes(NONCE_BYTES)
    return MAGIC + _key_id(key) + nonce + AESGCM(key).encrypt(nonce, plain, associated)


def decrypt(blob: bytes, *, associated: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES
    if len(blob) < header + 16 or not blob.startswith(MAGIC):
        raise TamperedDocument(_("the stored file is damaged"))
    key_id = blob[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES]
    key = next((k for k in _load_keys() if _key_id(k) == key_id), None)
    if key is None:
        raise TamperedDocument(_("the stored file was encrypted with an unknown key"))
    nonce = blob[len(MAGIC) + KEY_ID_BYTES : header]
    try:
        return AESGCM(key).decrypt(nonce, blob[header:], associated)
    except InvalidTag:
        raise TamperedDocument(_("the stored file has been altered")) from None


def document_storage():
    return storages["documents"]


def store_encrypted(plain: bytes, *, caisse_code: str) -> str:
    """Encrypt and save through Django's storage API; the name carries no personal data."""
    today = timezone.now()
    name = f"{caisse_code}/{today:%Y/%m}/{uuid.uuid4().hex}.bin"
    saved = document_storage().save(name, ContentFile(encrypt(plain, associated=name.encode())))
    if saved != name:  # a storage that renamed it: the associated data must name the final place
        document_storage().delete(saved)
        raise ServiceError("the document storage renamed a file; configure it without renaming")
    return saved


def read_plain(document: Document) -> bytes:
    """Decrypt a stored document and check it against its checksum."""
    with document_storage().open(document.file, "rb") as handle:
        blob = handle.read()
    plain = decrypt(blob, associated=document.file.encode())
    if hashlib.sha256(plain).hexdigest() != document.checksum:
        raise TamperedDocument(_("the stored file does not match its checksum"))
    return plain


# --- routing ------------------------------------------------------------------------------------------------
def processing_kind_for(*, document_type: str, purpose_kind: str, hint: str = "") -> str:
    """The rule naming (type, purpose) wins; then the rule for (type, every purpose); then the purpose's own
    hint; then the general basket."""
    rules = {
        r.purpose_kind: r.processing_kind
        for r in RoutingRule.objects.filter(document_type=document_type, purpose_kind__in=[purpose_kind, ""])
    }
    if purpose_kind in rules:
        return rules[purpose_kind]
    if "" in rules:
        return rules[""]
    if hint in ProcessingKind.values:
        return hint
    return ProcessingKind.GENERAL


def basket_for(*, caisse_code: str, processing_kind: str) -> Basket:
    basket, _created = Basket.objects.get_or_create(caisse_id=caisse_code, kind=processing_kind)
    return basket


# The routing shipped with the platform: (document type, purpose kind or "" for every purpose, processing kind).
# Loaded by a data migration; edited in the admin afterwards.
DEFAULT_ROUTING_RULES = [
    ("bank_details", "", "remboursements"),
    ("bank_details", "case_request", "ij"),
    ("sick_leave_form", "", "ij"),
    ("salary_certificate", "", "ij"),
    ("proof_of_income", "", "c2s"),
    ("proof_of_income", "case_request", "ij"),
    ("birth_certificate", "", "droits"),
    ("proof_of_address", "", "droits"),
    ("identity_document", "", "droits"),
]


def load_routing_rules(rule_model: Any = RoutingRule) -> int:
    """Create the shipped routing rules that are missing (rules changed in the admin are kept). The model is a
    parameter so that the data migration can pass its historical model."""
    existing = set(rule_model.objects.values_list("document_type", "purpose_kind"))
    missing = [
        rule_model(document_type=document_type, purpose_kind=purpose_kind, processing_kind=processing_kind)
        for document_type, purpose_kind, processing_kind in DEFAULT_ROUTING_RULES
        if (document_type, purpose_kind) not in existing
    ]
    rule_model.objects.bulk_create(missing)
    return len(missing)


def seed_baskets() -> int:
    """One basket per caisse and kind of processing (idempotent); returns how many were created."""
    existing = set(Basket.objects.values_list("caisse_id", "kind"))
    missing = [
        Basket(caisse_id=code, kind=kind)
        for code in Caisse.objects.values_list("code", flat=True)
        for kind in ProcessingKind.values
        if (code, kind) not in existing
    ]
    Basket.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


# --- deposit ------------------------------------------------------------------------------------------------
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
    documents = list(Document.objects.filter(deposit_id=deposit.pk).select_related("basket").order_by("id"))
    return DepositResult(deposit=deposit, documents=documents, replayed=True)


def _scoped_person(actor: Actor, person_id: int | None) -> Person:
    if actor.kind == ActorKind.INSURED:
        if person_id is not None and person_id != actor.person_id:
            raise NotFound(_("no such person"))
        person_id = actor.person_id
    if person_id is None:
        raise InvalidInput.from_fields({"person_id": _("required when an agent deposits for a person")})
    if not _valid_id(person_id):
        raise NotFound(_("no such person"))
    queryset = Person.objects.filter(pk=person_id)
    if actor.kind == ActorKind.AGENT:
        queryset = scope_to_caisse(queryset, actor)
    elif actor.kind != ActorKind.INSURED and actor.kind != ActorKind.SYSTEM:
        raise Forbidden(_("partners cannot deposit documents"))
    person = queryset.first()
    if person is None:
        raise NotFound(_("no such person"))
    return person


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

    kind = processing_kind_for(
        document_type=document_type, purpose_kind=purpose_kind, hint=purpose.processing_hint
    )
    now = timezone.now()
    deadline = purpose.deadline or now + dt.timedelta(days=DEFAULT_DEADLINE_DAYS)
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
                        basket=basket,
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
                        deadline=deadline,
                    )
                )
            Document.objects.bulk_create(documents)
            if any(d.pk is None for d in documents):  # SQLite before RETURNING support: read them back
                documents = list(Document.objects.filter(deposit=deposit).order_by("id"))
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


# --- the basket console -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BasketSummary:
    basket: Basket
    open_count: int
    overdue_count: int


def _scoped_baskets(actor: Actor):
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("baskets are reserved to caisse staff"))
    return scope_to_caisse(Basket.objects.all(), actor)


def list_baskets(*, actor: Actor) -> list[BasketSummary]:
    """The baskets of the agent's caisse with their open and overdue counts (two queries: the baskets, then the
    counts read from the partial index of open documents)."""
    now = timezone.now()
    baskets = list(_scoped_baskets(actor).select_related("caisse").order_by("caisse_id", "kind"))
    counts = {
        row["basket_id"]: (row["n"], row["late"])
        for row in Document.objects.filter(basket_id__in=[b.pk for b in baskets], is_open=True)
        .values("basket_id")
        .annotate(n=Count("id"), late=Count("id", filter=Q(deadline__lt=now)))
        .order_by()
    }
    return [BasketSummary(b, *counts.get(b.pk, (0, 0))) for b in baskets]


def get_basket(*, actor: Actor, basket_id: int) -> Basket:
    if not _valid_id(basket_id):
        raise NotFound(_("no such basket"))
    basket = _scoped_baskets(actor).select_related("caisse").filter(pk=basket_id).first()
    if basket is None:
        raise NotFound(_("no such basket"))
    return basket


@dataclass
class BasketPage:
    basket: Basket
    documents: list[Document]
    next_cursor: str | None


def _encode_cursor(document: Document) -> str:
    return base64.urlsafe_b64encode(f"{document.received_at.isoformat()}|{document.pk}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        when, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = dt.datetime.fromisoformat(when)
        if timezone.is_naive(moment):
            raise ValueError
        if not _valid_id(int(pk)):
            raise ValueError
        return moment, int(pk)
    except (ValueError, UnicodeError, TypeError):
        raise InvalidInput.from_fields({"cursor": _("invalid cursor")}) from None


def basket_documents(
    *,
    actor: Actor,
    basket_id: int,
    cursor: str | None = None,
    limit: int = BASKET_PAGE,
    with_persons: bool = True,
) -> BasketPage:
    """Open documents of a basket, oldest first (keyset pagination on the partial index). `with_persons`: read
    each document's person and claimant in the same query (the console shows their names; the API does not)."""
    basket = get_basket(actor=actor, basket_id=basket_id)
    limit = max(1, min(limit, MAX_BASKET_PAGE))
    queryset = Document.objects.filter(basket_id=basket.pk, is_open=True)
    if cursor:
        when, pk = _decode_cursor(cursor)
        queryset = queryset.filter(Q(received_at__gt=when) | Q(received_at=when, id__gt=pk))
    if with_persons:
        queryset = queryset.select_related("person", "claimed_by")
    rows = list(queryset.order_by("received_at", "id")[: limit + 1])
    for row in rows:
        row.basket = basket  # already read: no join for it
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return BasketPage(basket=basket, documents=rows[:limit], next_cursor=next_cursor)


def get_document(*, actor: Actor, document_id: int) -> Document:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("documents are reserved to caisse staff"))
    if not _valid_id(document_id):
        raise NotFound(_("no such document"))
    document = (
        scope_to_caisse(Document.objects.all(), actor)
        .select_related("person", "basket", "claimed_by", "decided_by")
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        raise NotFound(_("no such document"))
    return document


RECORD_BESIDE_CONTACTS = 5


def document_with_record(*, actor: Actor, document_id: int, purpose: str) -> tuple[Document, Any]:
    """A document and, to show beside it, its person's customer record (crm.services.open_record: the opening
    is written in the record's access log with its purpose, as any opening of a record is), with the last few
    contacts of the timeline."""
    from omniguichet.crm.services import open_record

    document = get_document(actor=actor, document_id=document_id)
    record = open_record(
        actor=actor, channel=Channel.BACKOFFICE, person_id=document.person_id, purpose=purpose,
        limit=RECORD_BESIDE_CONTACTS,
    )  # fmt: skip
    return document, record


def document_content(*, actor: Actor, document_id: int) -> tuple[Document, bytes]:
    """The decrypted file, for an agent of the document's caisse only."""
    document = get_document(actor=actor, document_id=document_id)
    return document, read_plain(document)


@dataclass(frozen=True)
class BulkResult:
    document_id: int
    ok: bool
    reason: str = ""


def _decide(actor: Actor, document_ids: Iterable[int], apply: Callable[[Document], None]) -> list[BulkResult]:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("documents are reserved to caisse staff"))
    ids = list(dict.fromkeys(int(i) for i in document_ids))
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput.from_fields({"documents": _("between 1 and %(n)d documents") % {"n": MAX_BULK}})
    results = []
    with transaction.atomic():
        found = {
            d.pk: d
            for d in scope_to_caisse(Document.objects.select_for_update(), actor).filter(
                pk__in=[i for i in ids if _valid_id(i)]
            )
        }
        for pk in ids:
            document = found.get(pk)
            if document is None:
                results.append(BulkResult(pk, False, _("no such document")))
                continue
            try:
                apply(document)
            except ServiceError as exc:
                results.append(BulkResult(pk, False, exc.message))
            else:
                results.append(BulkResult(pk, True))
    return results


def _check_open(actor: Actor, document: Document) -> None:
    if not document.is_open:
        raise Conflict(_("already %(status)s") % {"status": document.get_status_display()})
    if document.claimed_by_id and actor.user is not None and document.claimed_by_id != actor.user.pk:
        raise Conflict(_("claimed by another agent"))


def claim_documents(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, document_ids: Iterable[int]
) -> list[BulkResult]:
    now = timezone.now()

    def apply(document: Document) -> None:
        _check_open(actor, document)
        document.status = DocumentStatus.CLAIMED
        document.claimed_by = actor.user
        document.claimed_at = now
        document.save(update_fields=["status", "claimed_by", "claimed_at"])

    return _decide(actor, document_ids, apply)


def accept_documents(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, document_ids: Iterable[int]
) -> list[BulkResult]:
    now = timezone.now()

    def apply(document: Document) -> None:
        _check_open(actor, document)
        document.status = DocumentStatus.ACCEPTED
        document.is_open = False
        document.decided_by = actor.user
        document.decided_at = now
        document.save(update_fields=["status", "is_open", "decided_by", "decided_at"])

    return _decide(actor, document_ids, apply)


def reject_documents(
    *, actor: Actor, channel: str = Channel.BACKOFFICE, document_ids: Iterable[int], reason: str
) -> list[BulkResult]:
    """Reject with a reason; the purpose's rejection hook runs (a case waits for the document again) and, after
    commit, the person is told (notify_document_rejected) with a link to deposit again."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > 300:
        raise InvalidInput.from_fields({"reason": _("between 1 and 300 characters")})
    now = timezone.now()

    def apply(document: Document) -> None:
        _check_open(actor, document)
        document.status = DocumentStatus.REJECTED
        document.is_open = False
        document.decided_by = actor.user
        document.decided_at = now
        document.rejection_reason = reason
        document.save(update_fields=["status", "is_open", "decided_by", "decided_at", "rejection_reason"])
        hook = _rejection_hooks.get(document.purpose_kind)
        if hook is not None:
            hook(document, reason)
        transaction.on_commit(lambda: notify_document_rejected(actor=actor, document=document, reason=reason))

    return _decide(actor, document_ids, apply)


def transfer_documents(
    *,
    actor: Actor,
    channel: str = Channel.BACKOFFICE,
    document_ids: Iterable[int],
    to_basket_id: int,
    reason: str,
) -> list[BulkResult]:
    """Move documents to another basket of their caisse, with a reason (a Transfer row each)."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > 300:
        raise InvalidInput.from_fields({"reason": _("between 1 and 300 characters")})
    target = get_basket(actor=actor, basket_id=to_basket_id)

    def apply(document: Document) -> None:
        if not document.is_open:
            raise Conflict(_("already %(status)s") % {"status": document.get_status_display()})
        if target.caisse_id != document.caisse_id:
            raise Conflict(_("the basket belongs to another caisse"))
        if target.pk == document.basket_id:
            raise Conflict(_("already in this basket"))
        Transfer.objects.create(
            document=document,
            from_basket_id=document.basket_id,
            to_basket=target,
            reason=reason,
            agent=actor.user,
        )
        document.basket = target
        document.status = DocumentStatus.RECEIVED
        document.claimed_by = None
        document.claimed_at = None
        document.transfer_count += 1
        document.save(update_fields=["basket", "status", "claimed_by", "claimed_at", "transfer_count"])

    return _decide(actor, document_ids, apply)


@dataclass(frozen=True)
class TransferReport:
    total: int
    documents_received: int
    by_route: list[tuple[str, str, int]]

    @property
    def routes(self) -> list[tuple[str, str, int]]:
        """`by_route` with the baskets' names (in the active language) instead of their codes."""
        names = dict(ProcessingKind.choices)
        return [(str(names.get(a, a)), str(names.get(b, b)), n) for a, b, n in self.by_route]

    @property
    def rate(self) -> float:
        return self.total / self.documents_received if self.documents_received else 0.0


def transfer_report(*, actor: Actor, since: dt.datetime | None = None) -> TransferReport:
    """How many transfers in the agent's caisse since a date (default: 30 days), and between which baskets."""
    since = since or timezone.now() - dt.timedelta(days=30)
    transfers = Transfer.objects.filter(at__gte=since)
    documents = Document.objects.filter(received_at__gte=since)
    if not actor.sees_all_caisses:
        transfers = scope_to_caisse(transfers, actor, field="from_basket__caisse")
        documents = scope_to_caisse(documents, actor)
    routes = (
        transfers.values_list("from_basket__kind", "to_basket__kind").annotate(n=Count("id")).order_by("-n")
    )
    by_route = [(a, b, n) for a, b, n in routes]
    return TransferReport(
        total=sum(n for *_k, n in by_route), documents_received=documents.count(), by_route=by_route
    )


# --- telling the person -------------------------------------------------------------------------------------
def deposit_link(*, purpose_kind: str, purpose_ref: str, absolute: bool = False) -> str:
    """The page where the person deposits for this purpose (absolute for messages)."""
    link = reverse("documents:deposit") + "?" + urlencode({"kind": purpose_kind, "ref": purpose_ref})
    if absolute:
        base = getattr(settings, "OUTREACH_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
        link = base + link
    return link


def notify_document_rejected(*, actor: Actor, document: Document, reason: str) -> None:
    """THE ONE PLACE a rejection is told to the person: a message through the outbound message ledger
    (outreach.send_to_person, on the channels the person allows), with a link to deposit again. Called after the
    rejection commits; the idempotency key makes a second call send nothing more."""
    from omniguichet.outreach.services import SMS_MAX, send_to_person

    def literal(text: str) -> str:  # the message texts are templates: braces of the values stay braces
        return text.replace("{", "{{").replace("}", "}}")

    link = deposit_link(purpose_kind=document.purpose_kind, purpose_ref=document.purpose_ref, absolute=True)
    with translation.override(settings.LANGUAGE_CODE):  # the person's language, not the agent's
        values = {
            "type": literal(str(document.get_document_type_display())),
            "reason": literal(reason),
            "link": literal(link),
        }
        subject = _("Your document could not be accepted")
        body = (
            _(
                "Hello {full_name},\n\nYour document (%(type)s) could not be accepted: %(reason)s.\n"
                "Please send it again here: %(link)s"
            )
            % values
        )
        sms_body = _("Your document (%(type)s) could not be accepted. Send it again: %(link)s") % values
    send_to_person(
        actor=actor if actor.kind != ActorKind.INSURED else Actor.system("documents"),
        person=document.person,
        idempotency_key=f"document-rejected-{document.pk}",
        subject=subject,
        body=body,
        sms_body=sms_body if len(sms_body) <= SMS_MAX else subject,
        subject_kind="document",
        subject_ref=str(document.pk),
        motive=DEPOSIT_MOTIVE,
    )


# --- the customer record ------------------------------------------------------------------------------------
RECENT_DOCUMENTS = 5


# Part of every record opening: compiled once (core.db.PreparedQuery).
_RECENT_DOCUMENTS = PreparedQuery(
    lambda *, person_id: Document.objects.filter(person_id=person_id).order_by("-received_at")[
        :RECENT_DOCUMENTS
    ]
)


def recent_documents_section(person: Person) -> list[RecordItem]:
    """The "recent documents" section of the customer record (one query)."""
    rows = _RECENT_DOCUMENTS(person_id=person.pk)
    return [
        RecordItem(
            ref=str(d.pk),
            label=str(d.get_document_type_display()),
            status=str(d.get_status_display()),
            when=d.received_at,
            url=reverse("documents:document", args=[d.pk]),
        )
        for d in rows
    ]


def my_documents(*, actor: Actor, limit: int = 50) -> list[Document]:
    if actor.kind != ActorKind.INSURED:
        raise Forbidden(_("reserved to insured persons"))
    return list(Document.objects.filter(person_id=actor.person_id or 0).order_by("-received_at")[:limit])
