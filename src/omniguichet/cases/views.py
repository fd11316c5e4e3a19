"""The person's cases in their online account (/compte/dossiers/): the timeline of each case in plain words."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from omniguichet.cases import services
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import NotFound
from omniguichet.core.web import insured_required
from omniguichet.documents import services as documents


@require_GET
@insured_required
def my_cases_page(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(
        request, "cases/my_cases.html", {"cases": services.my_cases(actor=actor, channel=Channel.WEB)}
    )


@require_GET
@insured_required
def case_request(request: HttpRequest, actor: Actor, reference: str, code: str) -> HttpResponse:
    """The link of a "document missing" message: the deposit page of that requested document of the case."""
    try:
        doc = services.requested_document_for(actor=actor, reference=reference, code=code)
    except NotFound:
        raise Http404(_("no such request")) from None
    return redirect(documents.deposit_link(purpose_kind="case_request", purpose_ref=str(doc.pk)))
