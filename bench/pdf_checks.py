"""Benchmark of the time bound on the checks of one PDF (issue #6): hostile PDFs of at most 10 MB (the file size
limit) built to make pypdf work hard, checked with the bound (OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS, default 2 s)
and without it. Baseline: the check of an ordinary 1 MB scanned-page PDF, measured in the same run.

    python -m bench.pdf_checks              # with and without the bound
    python -m bench.pdf_checks --bounded    # only with the bound (a few seconds)
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable


def _hand_written_pdf(objects: list[bytes]) -> bytes:
    """One page, then the given object bodies, with an exact cross-reference table (so pypdf reads every one)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        *objects,
    ]
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref))
    return out.getvalue()


HOSTILE: dict[str, Callable[[], bytes]] = {
    "145,000 small objects (9.9 MB)": lambda: _hand_written_pdf([b"<< /A [1 2] /B << /C 4 >> >>"] * 145_000),
    "60,000 arrays nested 60 deep (9.6 MB)": lambda: _hand_written_pdf(
        [b"[" * 60 + b"1" + b"]" * 60] * 60_000
    ),
    "one string of 9.5 MB": lambda: _hand_written_pdf([b"(" + b"a" * 9_500_000 + b")"]),
    "one array of 4.7 M numbers": lambda: _hand_written_pdf([b"[" + b"1 " * 4_700_000 + b"]"]),
}


def _time_check(data: bytes) -> tuple[float, str]:
    from omniguichet.documents.services import FileRefused, check_file

    start = time.perf_counter()
    try:
        check_file("bench.pdf", data)
        outcome = "accepted"
    except FileRefused as exc:
        outcome = "refused: " + exc.message.split(": ", 1)[-1]
    return time.perf_counter() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bounded", action="store_true", help="only with the bound")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniguichet.settings")
    os.environ.setdefault("OMNIGUICHET_CLAMD_SOCKET", "")
    import django

    django.setup()
    from django.conf import settings

    from bench.documents import _pdf_of_one_mb

    bound = settings.OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS
    plain = _pdf_of_one_mb()
    baseline = statistics.median(_time_check(plain)[0] for _ in range(5))
    print(f"baseline: ordinary 1 MB scanned-page PDF checked in {baseline * 1000:.1f} ms (median of 5)")
    print(f"bound: {bound:g} s between objects (OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS)\n")
    print("| hostile PDF | with the bound | outcome | without the bound | outcome | bounded / baseline |")
    print("|---|---|---|---|---|---|")
    for name, build in HOSTILE.items():
        data = build()
        assert len(data) <= settings.OMNIGUICHET_DOCUMENT_MAX_FILE_BYTES, (name, len(data))
        bounded, outcome = _time_check(data)
        if args.bounded:
            free, free_outcome = float("nan"), "-"
        else:
            settings.OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS = 3600.0
            free, free_outcome = _time_check(data)
            settings.OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS = bound
        print(
            f"| {name} | {bounded:.2f} s | {outcome} | {free:.2f} s | {free_outcome} | "
            f"{bounded / baseline:,.0f}x |"
        )


if __name__ == "__main__":
    main()
