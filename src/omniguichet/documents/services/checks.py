"""The checks of every file of a deposit (type, size, pages, pixels, hostile content, antivirus): nothing is kept
unless every file passes."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from omniguichet.core.errors import InvalidInput, ServiceError


class FileRefused(ServiceError):
    status = 422
    code = "invalid"


PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"


EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}


_MAGIC = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))


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
