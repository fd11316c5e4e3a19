import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from omniguichet.referential.services import referential_figures

# When the accessibility statement below was last brought up to date (shown on the page).
ACCESSIBILITY_STATEMENT_DATE = dt.date(2026, 12, 3)


def home(request: HttpRequest) -> HttpResponse:
    """What the platform is, and where each audience goes."""
    return render(request, "home.html", {"figures": referential_figures()})


def error_page(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    """A refusal of a form sent without htmx (a conflict, invalid input) as a page of the platform — title,
    language, a way back — instead of bare text; htmx requests (which do not swap 4xx answers) get the text."""
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return render(request, "core/error.html", {"message": message, "back": back}, status=status)


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement ("Déclaration d'accessibilité") that the DSFR footer links to."""
    return render(request, "core/accessibility.html", {"statement_date": ACCESSIBILITY_STATEMENT_DATE})
