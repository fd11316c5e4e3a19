"""What the load test uploads, made once per run (no file checked in)."""

from __future__ import annotations

import io
import random


def scanned_pdf(size: int = 300_000) -> bytes:
    """A one-page PDF holding a JPEG of noise of about `size` bytes: what a phone's scan of a page weighs."""
    from PIL import Image

    rng = random.Random(300)
    side, pdf = 200, b""
    for _ in range(8):  # noise compresses badly and evenly: a few tries find the side
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(
            out, "PDF", resolution=150, quality=85
        )
        pdf = out.getvalue()
        if abs(len(pdf) - size) < size * 0.03:
            break
        side = int(side * (size / len(pdf)) ** 0.5)
    return pdf
