import io
import zipfile

import pytest
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.documents import services
from omniguichet.documents.models import DocumentRequest
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def _document_settings(settings, tmp_path):
    """Documents go to a fresh directory with a fresh key; messages to an outbox of the test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    settings.OMNIGUICHET_DOCUMENT_KEY = services.generate_key()
    settings.OUTREACH_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTREACH_SMS_PROVIDER = "file"
    settings.OMNIGUICHET_CLAMD_SOCKET = ""
    return tmp_path


def stored_files(tmp_path) -> list:
    root = tmp_path / "documents"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def make_pdf(
    pages: int = 1, *, javascript: bool = False, password: str = "", attachment: bool = False
) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if javascript:  # an action run when the document opens
        from pypdf.generic import DictionaryObject, NameObject, TextStringObject

        action = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    if attachment:
        writer.add_attachment("invoice.txt", b"hidden content")
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_jpeg(*, exif: bool = True, size=(64, 48)) -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCameraMaker"  # Make
        data[0x0131] = "GPS-tracking-software"  # Software
        image.save(out, "JPEG", exif=data.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def make_png(size=(32, 32)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 255, 128)).save(out, "PNG")
    return out.getvalue()


def make_zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.pdf", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


@pytest.fixture
def insured(make_person):
    """A person of the Paris caisse with an online account and its login."""
    person = make_person(family_name="Martin", given_names="Claire")
    user = make_user("claire.martin", role="", caisse=None)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    return person, user


@pytest.fixture
def insured_actor(insured):
    person, user = insured
    return Actor(kind=ActorKind.INSURED, user=user, person_id=person.pk, label=user.username)


@pytest.fixture
def rib_request(insured):
    person, _user = insured
    return DocumentRequest.objects.create(
        person=person, document_types=["bank_details"], label="Changement de coordonnées bancaires"
    )
