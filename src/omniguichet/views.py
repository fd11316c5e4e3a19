"""The site's own pages: the home page (what the platform is, where each audience goes) and the accessibility
statement."""

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from omniguichet.referential.services import referential_figures

# When the accessibility statement below was last brought up to date (shown on the page).
ACCESSIBILITY_STATEMENT_DATE = dt.date(2026, 12, 3)


def home(request: HttpRequest) -> HttpResponse:
    """What the platform is, and where each audience goes."""
    return render(request, "home.html", {"figures": referential_figures()})


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement ("Déclaration d'accessibilité") that the DSFR footer links to."""
    return render(request, "core/accessibility.html", {"statement_date": ACCESSIBILITY_STATEMENT_DATE})
