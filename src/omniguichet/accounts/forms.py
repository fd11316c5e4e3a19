"""Labels and choices of the online account's forms that other channels' pages (the kiosk) reuse."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from omniguichet.accounts.models import CodeDelivery


def code_label(delivery: str | None) -> Any:
    if delivery == CodeDelivery.EMAIL:
        return gettext_lazy("Code received by e-mail (6 digits)")
    return gettext_lazy("Code received by SMS (6 digits)")
