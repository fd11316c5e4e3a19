"""French formats of amounts and dates, as the platform's pages, timelines and messages write them."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from django.utils import dateformat, formats, timezone, translation
from django.utils.dateparse import parse_date


@functools.lru_cache(maxsize=4096)
def _french_amount(amount: str) -> str:
    with translation.override("fr"):
        text = formats.number_format(Decimal(amount), 2, use_l10n=True, force_grouping=True)
    return f"{text}\u00a0€"


def french_amount(amount: Decimal | str | float) -> str:
    """1234.5 -> "1 234,50 €" (French grouping and decimal comma)."""
    return _french_amount(str(amount))


def french_date(value: dt.date | dt.datetime | str | None) -> str:
    """2026-03-03 -> "3 mars 2026"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = parse_date(value) or value
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, dt.date):
        return str(value)
    return _french_day(value)


@functools.lru_cache(maxsize=4096)
def _french_day(value: dt.date) -> str:
    with translation.override("fr"):
        return dateformat.format(value, "j F Y")
