"""The declaration of a service (`Teleservice`, its `InputField`s, where it is offered), the registry of the
catalogue, and the cleaning of a submission's input from the declared schema."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import InvalidInput, NotFound, collect
from omniguichet.core.text import check_text
from omniguichet.referential import validators
from omniguichet.referential.models import Person
from omniguichet.teleservices.models import (
    TeleserviceRequest,
)

AUDIENCE_INSURED, AUDIENCE_EMPLOYER, AUDIENCE_PROFESSIONAL = "insured", "employer", "professional"


OFFER_WEB, OFFER_APP, OFFER_KIOSK, OFFER_AGENT = "web", "app", "kiosk", "agent"


ALL_OFFERS = frozenset({OFFER_WEB, OFFER_APP, OFFER_KIOSK, OFFER_AGENT})


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
    # The client's address (what the throttles of codes count per address); empty from commands and tasks.
    address: str = ""


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
