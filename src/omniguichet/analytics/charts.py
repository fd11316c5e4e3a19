"""Charts drawn on the server as inline SVG: nothing to load from a CDN, nothing for the browser to run.

A trend chart shows the monthly values of one indicator (a solid line, gaps where there is no value) against
its target (a dashed line) and optionally the national values (a dotted line); a bar chart shows shares.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 420, 190
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 28
MONTH_INITIALS = "JFMAMJJASOND"


def _x(i: int, n: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner * i / (n - 1) if n > 1 else inner / 2)


def _y(value: float, top_value: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - value / top_value)


def _segments(values: Sequence[float | None], top_value: float) -> list[str]:
    """Polyline point lists, broken where a value is missing."""
    out: list[str] = []
    current: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                out.append(" ".join(current))
            current = []
        else:
            current.append(f"{_x(i, len(values)):.1f},{_y(value, top_value):.1f}")
    if current:
        out.append(" ".join(current))
    return out


def trend_chart(
    values: Sequence[float | None],
    *,
    target: float | None,
    title: str,
    national: Sequence[float | None] | None = None,
    labels: Sequence[str] = (),
) -> SafeString:
    """Twelve monthly values (shares between 0 and 1) against the target."""
    known = [v for v in [*values, *(national or []), target] if v is not None]
    # The vertical scale: 100 % unless every value is small (a recontact rate of a few percent stays readable).
    top_value = 1.0 if not known or max(known) > 0.5 else max(0.05, min(1.0, round(max(known) * 1.25, 2)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="og-chart" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for step in range(5):
        share = top_value * step / 4
        y = _y(share, top_value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd" stroke-width="1"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#666">'
            f"{share * 100:.0f} %</text>"
        )
    n = len(values)
    for i in range(n):
        label = labels[i] if i < len(labels) else MONTH_INITIALS[i % 12]
        parts.append(
            f'<text x="{_x(i, n):.1f}" y="{HEIGHT - 10}" font-size="10" text-anchor="middle" fill="#666">'
            f"{escape(label)}</text>"
        )
    if target is not None:
        y = _y(min(target, top_value), top_value)
        parts.append(
            f'<line class="og-target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ce0500" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    if national is not None:
        for points in _segments(national, top_value):
            parts.append(
                f'<polyline class="og-national" points="{points}" fill="none" stroke="#666" '
                'stroke-width="1.5" stroke-dasharray="2 3"/>'
            )
    for points in _segments(values, top_value):
        parts.append(
            f'<polyline class="og-values" points="{points}" fill="none" stroke="#000091" stroke-width="2"/>'
        )
    for i, value in enumerate(values):
        if value is not None:
            parts.append(
                f'<circle cx="{_x(i, n):.1f}" cy="{_y(value, top_value):.1f}" r="3" fill="#000091">'
                f"<title>{escape(labels[i] if i < len(labels) else str(i + 1))}: {value * 100:.1f} %</title>"
                "</circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def bar_chart(items: Sequence[tuple[str, float]], *, title: str) -> SafeString:
    """Horizontal bars of shares (0-1), one per label."""
    row, label_width, width = 22, 110, WIDTH
    height = TOP + row * len(items) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="og-chart" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    top_share = max((share for _, share in items), default=0) or 1
    for i, (label, share) in enumerate(items):
        y = TOP + i * row
        length = (width - label_width - 60) * share / top_share
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" font-size="11" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="14" fill="#000091"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 14}" font-size="11">{share * 100:.1f} %</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
