"""The person's cases in their online account (/compte/dossiers/): the timeline of each case in plain words."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from omniguichet.cases import services
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.web import insured_required


@require_GET
@insured_required
def my_cases_page(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(
        request, "cases/my_cases.html", {"cases": services.my_cases(actor=actor, channel=Channel.WEB)}
    )
