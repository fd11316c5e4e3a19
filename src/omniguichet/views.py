"""The site's own pages: the home page (what the platform is, where each audience goes) and the accessibility
statement."""

import datetime as dt

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from omniguichet.accounts.services import count_accounts
from omniguichet.referential.services import referential_figures

# When the accessibility statement below was last brought up to date (shown on the page).
ACCESSIBILITY_STATEMENT_DATE = dt.date(2026, 12, 3)


def home(request: HttpRequest) -> HttpResponse:
    """What the platform is, and where each audience goes."""
    accounts: int = cache.get_or_set("home_accounts", count_accounts, timeout=60)  # type: ignore[assignment]
    return render(request, "home.html", {"figures": {**referential_figures(), "accounts": accounts}})


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement ("Déclaration d'accessibilité") that the DSFR footer links to."""
    return render(request, "core/accessibility.html", {"statement_date": ACCESSIBILITY_STATEMENT_DATE})
