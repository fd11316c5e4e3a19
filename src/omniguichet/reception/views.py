"""Reception pages: the kiosk (public, on the site's premises), the waiting-room display (numbers only) and the
agent's desk (call next, close the visit)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
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
from omniguichet.reception.forms import CallNextForm, CloseVisitForm, KioskTicketForm


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
    form = KioskTicketForm(request.POST if request.method == "POST" else None, motives=list(iter_motives()))
    if request.method == "POST":
        if form.is_valid():
            values = form.cleaned_data
            try:
                ticket = services.take_ticket(
                    site_id=site.pk, code=values["code"], nir=values["nir"] or "", birth_date=values["birth_date"],
                    motive=values["motive"], priority=values["priority"], address=client_address(request),
                )  # fmt: skip
            except InvalidInput as exc:
                form.refuse(exc)
            else:
                return render(request, "reception/ticket.html", {"site": site, "ticket": ticket})
        return render(request, "reception/kiosk.html", {"site": site, "form": form}, status=422)
    return render(request, "reception/kiosk.html", {"site": site, "form": form})


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


def _desk_page(
    request: HttpRequest, actor: Actor, site_id: int, *, call: CallNextForm | None = None,
    close: CloseVisitForm | None = None, status: int = 200,
) -> HttpResponse:  # fmt: skip
    try:
        state = services.desk_state(actor=actor, site_id=site_id)
    except NotFound:
        raise Http404(_("no such site")) from None
    current = state.current
    if close is None and current is not None:
        close = CloseVisitForm(
            auto_id="%s", motives=list(iter_motives()), identify=current.person_id is None,
            initial={"motive": current.motive_id},
        )  # fmt: skip
    context = {
        "state": state,
        "call_form": call or CallNextForm(auto_id="%s", initial={"desk": f"{_('Desk')} 1"}),
        "close_form": close,
        "purpose": _("Visit at the reception desk"),
        "error": request.GET.get("error", "")[:200],
    }
    return render(request, "reception/desk.html", context, status=status)


@require_GET
@agent_required
def desk(request: HttpRequest, actor: Actor, site_id: int) -> HttpResponse:
    return _desk_page(request, actor, site_id)


@require_POST
@agent_required
def call_next(request: HttpRequest, actor: Actor, site_id: int) -> HttpResponse:
    desk_url = reverse("reception:desk", args=[site_id])
    form = CallNextForm(request.POST, auto_id="%s")
    if not form.is_valid():
        return _desk_page(request, actor, site_id, call=form, status=422)
    try:
        ticket = services.call_next(actor=actor, site_id=site_id, desk=form.cleaned_data["desk"])
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
    """Close a visit, from the desk or from the person's record (`next=record`). A refused field: the desk page
    with the form answered under it (from the record: the refusal's page, the record being another app's)."""
    from_record = request.POST.get("next") == "record"
    form = CloseVisitForm(request.POST, auto_id="%s", motives=list(iter_motives()))
    try:
        if request.POST.get("left") == "yes":
            ticket = services.mark_left(actor=actor, ticket_id=ticket_id)
        elif not form.is_valid():
            ticket = services.ticket_for_desk(actor=actor, ticket_id=ticket_id)
            raise InvalidInput.from_fields(form.field_errors())
        else:
            values = form.cleaned_data
            ticket = services.close_visit(
                actor=actor, ticket_id=ticket_id, outcome=values["outcome"] or Outcome.RESOLVED,
                motive=values["motive"], note=values["note"], person_id=values["person_id"],
            )  # fmt: skip
    except NotFound:
        raise Http404(_("no such ticket")) from None
    except Conflict as exc:
        return error_page(request, _error_text(exc), status=409)
    except InvalidInput as exc:
        if from_record or request.htmx:  # type: ignore[attr-defined]
            return error_page(request, _error_text(exc), status=422)
        form.refuse(exc)
        return _desk_page(request, actor, ticket.site_id, close=form, status=422)
    if from_record and ticket.person_id is not None:
        # Closed from the person's record: back to it, its timeline showing the visit.
        return redirect(
            reverse("crm:record", args=[ticket.person_id])
            + "?"
            + urlencode({"purpose": _("Visit at the reception desk")})
        )
    return redirect(reverse("reception:desk", args=[ticket.site_id]))
