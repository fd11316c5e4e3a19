"""Encryption at rest: round trip, what is stored is not the plain file, tampering is detected."""

import hashlib

import pytest
from django.core.files.base import ContentFile

from omniguichet.documents import services
from omniguichet.documents.services import TamperedDocument
from tests.documents.conftest import make_pdf, stored_files


class _Doc:
    """The two fields read_plain needs (a Document without a database)."""

    def __init__(self, file: str, checksum: str):
        self.file, self.checksum = file, checksum


def test_round_trip_and_stored_bytes_are_not_the_plain_file(_document_settings):
    plain = make_pdf(2)
    name = services.store_encrypted(plain, caisse_code="751")
    assert name.startswith("751/") and name.endswith(".bin")
    [path] = stored_files(_document_settings)
    stored = path.read_bytes()
    assert stored != plain and plain[:64] not in stored and b"%PDF" not in stored
    assert stored.startswith(services.MAGIC)
    assert services.read_plain(_Doc(name, hashlib.sha256(plain).hexdigest())) == plain


def test_a_flipped_byte_is_detected(_document_settings):
    plain = make_pdf()
    name = services.store_encrypted(plain, caisse_code="751")
    [path] = stored_files(_document_settings)
    blob = bytearray(path.read_bytes())
    blob[-20] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(TamperedDocument, match="altered"):
        services.read_plain(_Doc(name, hashlib.sha256(plain).hexdigest()))


def test_a_file_swapped_with_another_documents_file_is_detected(_document_settings):
    first = services.store_encrypted(b"first", caisse_code="751")
    second = services.store_encrypted(b"second", caisse_code="751")
    storage = services.document_storage()
    blob = storage.open(first).read()
    storage.delete(second)
    storage.save(second, ContentFile(blob))
    with pytest.raises(TamperedDocument):
        services.read_plain(_Doc(second, hashlib.sha256(b"first").hexdigest()))


def test_a_wrong_checksum_is_detected(_document_settings):
    name = services.store_encrypted(b"content", caisse_code="751")
    with pytest.raises(TamperedDocument, match="checksum"):
        services.read_plain(_Doc(name, hashlib.sha256(b"other").hexdigest()))


def test_key_rotation_old_files_still_decrypt(settings):
    old_key = settings.OMNIGUICHET_DOCUMENT_KEY
    name = services.store_encrypted(b"old", caisse_code="011")
    settings.OMNIGUICHET_DOCUMENT_KEY = f"{services.generate_key()},{old_key}"
    assert services.read_plain(_Doc(name, hashlib.sha256(b"old").hexdigest())) == b"old"
    settings.OMNIGUICHET_DOCUMENT_KEY = services.generate_key()
    with pytest.raises(TamperedDocument, match="unknown key"):
        services.read_plain(_Doc(name, hashlib.sha256(b"old").hexdigest()))


def test_without_a_configured_key_one_is_generated_once_under_var(settings, tmp_path):
    settings.OMNIGUICHET_DOCUMENT_KEY = ""
    settings.VAR_DIR = tmp_path / "var"
    blob = services.encrypt(b"x", associated=b"n")
    key_file = tmp_path / "var" / "document_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert services.decrypt(blob, associated=b"n") == b"x"
