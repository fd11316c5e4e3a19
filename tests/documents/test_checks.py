"""Every file passes the checks before anything is kept: real type from the content, PDFs that parse without
password, JavaScript or embedded files, images re-encoded without EXIF, size and page limits, the antivirus."""

import io
import os
import socket
import struct
import threading

import pytest
from bench.pdf_checks import _hand_written_pdf
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from omniguichet.core.errors import InvalidInput, ServiceError
from omniguichet.documents import services
from omniguichet.documents.services import FileRefused, check_deposit, check_file, sniff_type
from tests.documents.conftest import make_jpeg, make_pdf, make_png, make_zip_bomb


def test_a_plain_pdf_passes_with_its_page_count():
    checked = check_file("rib.pdf", make_pdf(3))
    assert (checked.content_type, checked.pages, checked.name) == ("application/pdf", 3, "rib.pdf")
    assert len(checked.checksum) == 64


def test_the_extension_is_not_trusted_the_content_is():
    checked = check_file("photo.pdf", make_png())
    assert checked.content_type == "image/png" and checked.name == "photo.png"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (make_zip_bomb(), "the file is a ZIP file, not a PDF, JPEG or PNG document"),
        (b"MZ\x90\x00 this is an exe", "the file is a Windows executable file"),
        (b"Hello, I am a text file pretending", "the file is not a PDF, JPEG or PNG document"),
        (make_pdf(javascript=True), "the PDF contains JavaScript"),
        (make_pdf(password="secret"), "the PDF is protected by a password"),
        (make_pdf(attachment=True), "the PDF contains embedded files"),
        (b"%PDF-1.7\n garbage that does not parse", "the PDF is damaged"),
        (b"\xff\xd8\xff\xe0 not really a jpeg", "the image is damaged"),
        (b"\x89PNG\r\n\x1a\n not really a png", "the image is damaged"),
    ],
    ids=[
        "empty",
        "zip-bomb",
        "exe",
        "text",
        "javascript",
        "password",
        "attachment",
        "bad-pdf",
        "bad-jpeg",
        "bad-png",
    ],
)
def test_bad_files_are_refused_with_a_clear_reason(data, reason):
    with pytest.raises(FileRefused) as refused:
        check_file("document.pdf", data)
    assert reason in refused.value.message
    assert refused.value.message.startswith("file document.pdf: ")
    assert refused.value.status == 422 and "files" in refused.value.fields


def test_javascript_in_a_page_action_is_found_too():
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=100, height=100)
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(script)})
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(FileRefused, match="JavaScript"):
        check_file("a.pdf", out.getvalue())


def test_page_limit(settings):
    settings.OMNIGUICHET_DOCUMENT_MAX_PAGES = 2
    with pytest.raises(FileRefused, match="the PDF has 3 pages, at most 2 are accepted"):
        check_file("a.pdf", make_pdf(3))


def many_objects_pdf(count: int) -> bytes:
    """A PDF written by hand: one page, then `count` small objects (what a hostile file makes the checks chew on)."""
    return _hand_written_pdf([b"<< /A [1 2] >>"] * count)


def test_the_checks_of_one_pdf_are_bounded_in_time(settings):
    data = many_objects_pdf(2000)
    # Within a bound (a generous one: the test must not depend on the speed of a loaded machine), it is checked.
    settings.OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS = 600
    assert check_file("a.pdf", data).pages == 1
    # Past the bound (here: none at all), the file is refused between two objects, not chewed on.
    settings.OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS = 0
    with pytest.raises(FileRefused, match="the PDF is too complex to be checked"):
        check_file("a.pdf", data)


def test_size_limit_per_file_and_per_deposit(settings):
    settings.OMNIGUICHET_DOCUMENT_MAX_FILE_BYTES = 1024 * 1024
    settings.OMNIGUICHET_DOCUMENT_MAX_DEPOSIT_BYTES = 1024 * 1024
    big = make_pdf() + b"\n" * (1024 * 1024)
    with pytest.raises(FileRefused, match="the file is larger than 1 MB"):
        check_file("a.pdf", big)
    half = make_pdf() + b"%" * (600 * 1024)
    with pytest.raises(InvalidInput, match="the files together exceed 1 MB"):
        check_deposit([("a.pdf", half), ("b.pdf", half)])


def test_too_many_files(settings):
    settings.OMNIGUICHET_DOCUMENT_MAX_FILES = 2
    with pytest.raises(InvalidInput, match="at most 2 files"):
        check_deposit([("a.pdf", make_pdf())] * 3)
    with pytest.raises(InvalidInput, match="at least one file"):
        check_deposit([])


def test_one_bad_file_refuses_the_whole_deposit():
    with pytest.raises(FileRefused, match=r"file b\.pdf: the file is empty"):
        check_deposit([("a.pdf", make_pdf()), ("b.pdf", b"")])


def test_images_are_reencoded_without_exif():
    original = make_jpeg(exif=True)
    assert b"SecretCameraMaker" in original
    checked = check_file("photo.jpeg", original)
    assert checked.content_type == "image/jpeg" and checked.name == "photo.jpg"
    assert b"SecretCameraMaker" not in checked.content
    with Image.open(io.BytesIO(checked.content)) as image:
        assert image.size == (64, 48) and not image.getexif()


def test_data_hidden_after_a_png_is_dropped():
    checked = check_file("scan.png", make_png() + b"<script>payload</script>")
    assert b"payload" not in checked.content


def test_decompression_bomb_image_is_refused(settings):
    settings.OMNIGUICHET_DOCUMENT_MAX_PIXELS = 1000
    with pytest.raises(FileRefused, match=r"the image is too large \(64 x 48 pixels\)"):
        check_file("a.jpg", make_jpeg(size=(64, 48)))


# --- the antivirus hook: clamd's INSTREAM protocol over a unix socket --------------------------------------
EICAR_MARK = b"EICAR-TEST"


@pytest.fixture
def clamd(tmp_path, settings):
    """A tiny server speaking clamd's INSTREAM protocol (the daemon itself is not installed here)."""
    path = str(tmp_path / "clamd.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    received: list[bytes] = []

    def serve():
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            with conn:
                command = b""
                while not command.endswith(b"\0"):
                    command += conn.recv(1)
                data = b""
                while True:
                    size = struct.unpack("!L", conn.recv(4, socket.MSG_WAITALL))[0]
                    if size == 0:
                        break
                    data += conn.recv(size, socket.MSG_WAITALL)
                received.append(data)
                found = EICAR_MARK in data
                conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if found else b"stream: OK\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings.OMNIGUICHET_CLAMD_SOCKET = path
    yield received
    server.close()
    os.unlink(path)


def test_antivirus_is_off_by_default():
    assert services.scan_for_viruses(EICAR_MARK) is None


def test_antivirus_scans_the_file_and_refuses_what_it_finds(clamd):
    pdf = make_pdf()
    assert check_file("a.pdf", pdf).pages == 1
    assert clamd == [pdf]
    infected = pdf + b"%" + EICAR_MARK
    with pytest.raises(FileRefused, match="the antivirus found Eicar-Test-Signature"):
        check_file("a.pdf", infected)


def test_antivirus_configured_but_down_refuses(settings, tmp_path):
    settings.OMNIGUICHET_CLAMD_SOCKET = str(tmp_path / "nothing.sock")
    with pytest.raises(ServiceError, match="the antivirus is unavailable"):
        check_file("a.pdf", make_pdf())


# --- arbitrary bytes: never an unexpected error, never accepted unless really valid ------------------------
@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from([b"", b"%PDF-1.4\n", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04"]),
    body=st.binary(max_size=2048),
)
def test_arbitrary_bytes_are_refused_cleanly(prefix, body):
    data = prefix + body
    try:
        checked = check_file("x.pdf", data)
    except FileRefused as refused:
        assert refused.message.startswith("file x.pdf: ")
        return
    # Accepted: it really is what the sniffer says, and it parses again from what will be stored.
    assert checked.content_type == sniff_type(checked.content)
    if checked.content_type == "application/pdf":
        from pypdf import PdfReader

        assert len(PdfReader(io.BytesIO(checked.content)).pages) == checked.pages
    else:
        with Image.open(io.BytesIO(checked.content)) as image:
            image.load()


@hsettings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_sniffer_only_names_the_three_types_by_their_magic(data):
    mime = sniff_type(data)
    assert mime in (None, "application/pdf", "image/jpeg", "image/png")
    if mime == "application/pdf":
        assert data.startswith(b"%PDF-")
    elif mime == "image/jpeg":
        assert data.startswith(b"\xff\xd8\xff")
    elif mime == "image/png":
        assert data.startswith(b"\x89PNG")


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_files_never_escape_the_checks(data):
    base = data.draw(st.sampled_from([make_pdf(), make_jpeg(exif=False), make_png()]))
    position = data.draw(st.integers(0, len(base) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=16))
    mutated = base[:position] + junk + base[position + len(junk) :]
    try:
        checked = check_file("m.bin", mutated)
    except FileRefused:
        return
    assert checked.content_type == sniff_type(checked.content)


def test_javascript_in_an_action_nested_directly_in_an_annotation_is_found():
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=100, height=100)
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
            # The action is a direct dictionary inside the annotation, not an object of its own.
            NameObject("/A"): DictionaryObject(
                {
                    NameObject("/S"): NameObject("/JavaScript"),
                    NameObject("/JS"): TextStringObject("app.alert(1)"),
                }
            ),
        }
    )
    page[NameObject("/Annots")] = ArrayObject([annotation])  # direct, inside the page
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(FileRefused, match="JavaScript"):
        check_file("a.pdf", out.getvalue())
