"""The person's cases in their online account (/compte/dossiers/): thin, one service call."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from omniguichet.accounts.views import insured_required  # the online account's login
from omniguichet.cases import services
from omniguichet.core.actors import Actor, Channel


@require_GET
@insured_required
def my_cases(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "cases/mine.html", {"cases": services.my_cases(actor=actor, channel=Channel.WEB)})
