"""Reception pages: the kiosk (public, on the site's premises), the waiting-room display (numbers only) and the
agent's desk (call next, close the visit)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict, InvalidInput, NotFound, ServiceError
from omniguichet.core.throttle import client_address
from omniguichet.core.web import agent_required, error_page
from omniguichet.crm.models import Outcome
from omniguichet.crm.services import iter_motives
from omniguichet.reception import services


def _error_text(exc: ServiceError) -> str:
    return "; ".join(exc.fields.values()) if exc.fields else exc.message


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


@require_GET
@agent_required
def sites(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The reception sites of the agent's caisse, with their desk, kiosk and display."""
    return render(request, "reception/sites.html", {"sites": services.staff_sites(actor=actor)})


@require_http_methods(["GET", "POST"])
def kiosk(request: HttpRequest, site_id: int) -> HttpResponse:
    try:
        site = services.kiosk_site(site_id)
    except NotFound:
        raise Http404(_("no such site")) from None
    context: dict[str, Any] = {
        "site": site, "motives": list(iter_motives()), "error": "",
        "errors": {}, "values": request.POST,
    }  # fmt: skip
    if request.method == "POST":
        raw_birth = request.POST.get("birth_date", "")
        birth_date = None
        with contextlib.suppress(ValueError):
            birth_date = parse_date(raw_birth) if raw_birth else None
        try:
            if raw_birth and birth_date is None:
                raise InvalidInput.from_fields({"birth_date": _("is not a date")})
            ticket = services.take_ticket(
                site_id=site.pk, code=request.POST.get("code", "")[:40], nir=request.POST.get("nir", "")[:30],
                birth_date=birth_date, motive=request.POST.get("motive", "")[:40],
                priority=request.POST.get("priority") == "yes", address=client_address(request),
            )  # fmt: skip
        except InvalidInput as exc:
            context["error"], context["errors"] = _error_text(exc), exc.fields
            return render(request, "reception/kiosk.html", context, status=422)
        return render(request, "reception/ticket.html", {"site": site, "ticket": ticket})
    return render(request, "reception/kiosk.html", context)


@require_GET
def display(request: HttpRequest, site_id: int) -> HttpResponse:
    try:
        site = services.kiosk_site(site_id)
        board = services.display_board(site_id=site_id)
    except NotFound:
        raise Http404(_("no such site")) from None
    # The board alone for the page's own refresh (htmx); the whole page for anyone opening the URL.
    partial = request.htmx and request.GET.get("partial")  # type: ignore[attr-defined]
    template = "reception/_board.html" if partial else "reception/display.html"
    return render(request, template, {"site": site, "board": board})


@require_GET
@agent_required
def desk(request: HttpRequest, actor: Actor, site_id: int) -> HttpResponse:
    try:
        state = services.desk_state(actor=actor, site_id=site_id)
    except NotFound:
        raise Http404(_("no such site")) from None
    context = {
        "state": state,
        "outcomes": Outcome.choices,
        "motives": list(iter_motives()),
        "purpose": _("Visit at the reception desk"),
        "error": request.GET.get("error", "")[:200],
    }
    return render(request, "reception/desk.html", context)


@require_POST
@agent_required
def call_next(request: HttpRequest, actor: Actor, site_id: int) -> HttpResponse:
    desk_url = reverse("reception:desk", args=[site_id])
    try:
        ticket = services.call_next(actor=actor, site_id=site_id, desk=request.POST.get("desk", "")[:20])
    except NotFound:
        raise Http404(_("no such site")) from None
    except Conflict as exc:
        return redirect(desk_url + "?" + urlencode({"error": exc.message}))
    if ticket is None:
        return redirect(desk_url + "?" + urlencode({"error": _("Nobody is waiting.")}))
    if ticket.person_id is not None:
        # The person's record at once (its opening is audited with this purpose).
        return redirect(
            reverse("crm:record", args=[ticket.person_id])
            + "?"
            + urlencode({"purpose": _("Visit at the reception desk")})
        )
    return redirect(desk_url)


@require_POST
@agent_required
def close(request: HttpRequest, actor: Actor, ticket_id: int) -> HttpResponse:
    try:
        if request.POST.get("left") == "yes":
            ticket = services.mark_left(actor=actor, ticket_id=ticket_id)
        else:
            ticket = services.close_visit(
                actor=actor, ticket_id=ticket_id, outcome=request.POST.get("outcome", Outcome.RESOLVED),
                motive=request.POST.get("motive", "")[:40], note=request.POST.get("note", "")[:4000],
                person_id=_int(request.POST.get("person_id")),
            )  # fmt: skip
    except NotFound:
        raise Http404(_("no such ticket")) from None
    except (Conflict, InvalidInput) as exc:
        return error_page(request, _error_text(exc), status=409 if isinstance(exc, Conflict) else 422)
    if request.POST.get("next") == "record" and ticket.person_id is not None:
        # Closed from the person's record: back to it, its timeline showing the visit.
        return redirect(
            reverse("crm:record", args=[ticket.person_id])
            + "?"
            + urlencode({"purpose": _("Visit at the reception desk")})
        )
    return redirect(reverse("reception:desk", args=[ticket.site_id]))
