from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from omniguichet.referential.services import referential_figures


def home(request: HttpRequest) -> HttpResponse:
    """What the platform is, and where each audience goes."""
    return render(request, "home.html", {"figures": referential_figures()})
