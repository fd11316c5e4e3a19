"""Encryption at rest (AES-256-GCM, keys rotated newest first) and the storage of the encrypted files."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.errors import ServiceError
from omniguichet.core.keys import key_from_file
from omniguichet.documents.models import (
    Document,
    KeyCanary,
)

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


CANARY = b"omniguichet document key canary"
_canary_written: set[bytes] = set()


def key_ids() -> list[str]:
    """The ids (hex) of the configured document keys, newest first."""
    return [_key_id(k).hex() for k in _load_keys()]


def ensure_key_canary() -> None:
    """The current key's canary exists: written after every `migrate` (documents.apps) and before a backup, so
    a key is known to the start-up check before it encrypts anything that matters."""
    key = _load_keys()[0]
    if key in _canary_written:
        return
    KeyCanary.objects.get_or_create(
        pk=_key_id(key).hex(), defaults={"blob": encrypt(CANARY, associated=b"canary")}
    )
    _canary_written.add(key)


def check_document_keys() -> list[str]:
    """Why the configured keys cannot open this platform's documents (empty when they can): a key that encrypted
    documents here (it has a canary) and is no longer configured, or a configured key that does not open its
    canary (same id, other key: impossible unless forged)."""
    problems = []
    configured = set(key_ids())
    for canary in KeyCanary.objects.order_by("created_at"):
        if canary.key_id not in configured:
            problems.append(
                _("documents were encrypted with the key %(id)s, which is not among OMNIGUICHET_DOCUMENT_KEY")
                % {"id": canary.key_id}
            )
            continue
        try:
            opened = decrypt(bytes(canary.blob), associated=b"canary")
        except TamperedDocument:
            opened = b""
        if opened != CANARY:
            problems.append(_("the key %(id)s does not open its canary") % {"id": canary.key_id})
    return problems


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


def read_plain(document: Document | Any) -> bytes:
    """Decrypt a stored file and check it against its checksum: a Document, or anything stored the same way with
    its `file` and `checksum` (a message's attachment)."""
    with document_storage().open(document.file, "rb") as handle:
        blob = handle.read()
    plain = decrypt(blob, associated=document.file.encode())
    if hashlib.sha256(plain).hexdigest() != document.checksum:
        raise TamperedDocument(_("the stored file does not match its checksum"))
    return plain
