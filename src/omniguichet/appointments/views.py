"""Appointment pages: the person's booking in their account, the signed links (manage, offer, QR code), the
agent's booking on a person's behalf and the agent's call-back list."""

from __future__ import annotations

import contextlib
import datetime as dt
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from omniguichet.appointments import services
from omniguichet.appointments.forms import AgentBookingForm, BookingForm, CallbackOutcomeForm, WaitingListForm
from omniguichet.appointments.models import Appointment, Mode
from omniguichet.core.actors import Actor, Channel, insured_actor
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from omniguichet.core.web import agent_required, error_page
from omniguichet.crm.models import Outcome


def insured_required(view):
    """Logged in with a login attached to an online account; the view receives the actor. Anonymous visitors go
    to the online account's login page (APPOINTMENTS_PERSON_LOGIN_URL)."""

    @login_required(login_url=settings.APPOINTMENTS_PERSON_LOGIN_URL)
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            actor = insured_actor(request.user)  # type: ignore[arg-type]
        except Forbidden:
            raise PermissionDenied(
                _("These pages are reserved to insured persons with an online account.")
            ) from None
        return view(request, actor, *args, **kwargs)

    return wrapper


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _chosen_slot(request: HttpRequest) -> tuple[int, dt.datetime]:
    """The slot chosen in a form: "<site id>|<ISO start>"."""
    site, _sep, start = request.POST.get("slot", "").partition("|")
    parsed = None
    with contextlib.suppress(ValueError):
        parsed = parse_datetime(start)
    if parsed is None or _int(site) is None:
        raise InvalidInput.from_fields({"start": _("choose a slot")})
    return _int(site) or 0, parsed


def _error_text(exc: ServiceError) -> str:
    return "; ".join(exc.fields.values()) if exc.fields else exc.message


def _slots_context(
    actor: Actor, *, motive: str, site: int | None, person_id: int | None = None, day: dt.date | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {"slots": [], "error": "", "days": []}
    if not motive:
        return context
    try:
        slots = services.find_free_slots(
            actor=actor, channel=Channel.WEB, motive=motive, site_id=site, person_id=person_id, date_from=day,
            limit=40,
        )  # fmt: skip
    except (InvalidInput, NotFound) as exc:
        context["error"] = _error_text(exc)
        return context
    sites = services.site_names(s.site_id for s in slots)
    days: dict[dt.date, list[dict[str, Any]]] = {}
    for slot in slots:
        local = slot.start.astimezone(services.PARIS)
        days.setdefault(local.date(), []).append(
            {
                "value": f"{slot.site_id}|{slot.start.isoformat()}",
                "time": f"{local:%H:%M}",
                "site": sites.get(slot.site_id, ""),
                "site_id": slot.site_id,
            }
        )
    context["days"] = list(days.items())
    context["slots"] = slots
    return context


def _page_instead(request: HttpRequest, url: str) -> HttpResponse:
    """A fragment URL opened without htmx (a bookmark, a new tab): the page the fragment belongs to, with the
    same query (a bare fragment has no title, no language, no landmarks)."""
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url)


# --- the person's pages -----------------------------------------------------------------------------------
def _mine_forms(
    request: HttpRequest, actor: Actor, *, bound: str = ""
) -> tuple[BookingForm, WaitingListForm]:
    """The booking page's two forms, the one posted (`bound`) bound to what was sent; the other chosen as the
    link or the other form said (motive, site, case)."""
    choices: dict[str, Any] = {
        "motives": services.active_motives(),
        "sites": list(services.visible_sites(actor=actor).order_by("name")),
    }
    initial = {
        "motive": request.POST.get("motive") or request.GET.get("motive", ""),
        "site": request.POST.get("site") or request.GET.get("site", ""),
        "case_ref": (request.POST.get("case_ref") or request.GET.get("case", ""))[:40],
    }
    data = request.POST if request.method == "POST" else None
    booking = BookingForm(
        data if bound == "booking" else None,
        initial=initial,
        cases=services.open_cases(actor=actor),
        **choices,
    )
    waiting = WaitingListForm(data if bound == "waiting" else None, initial=initial, **choices)
    return booking, waiting


def _mine_page(
    request: HttpRequest, actor: Actor, booking: BookingForm, waiting: WaitingListForm, status: int = 200
) -> HttpResponse:
    context = {
        "appointments": services.list_appointments(actor=actor),
        "form": booking,
        "waiting_form": waiting,
        "waiting_done": request.GET.get("waiting") == "1",
    }
    return render(request, "appointments/mine.html", context, status=status)


@require_http_methods(["GET", "POST"])
@insured_required
def my_appointments(request: HttpRequest, actor: Actor) -> HttpResponse:
    booking, waiting = _mine_forms(request, actor, bound="booking")
    if request.method == "POST":
        if booking.is_valid():
            values = booking.cleaned_data
            site_id, start = values["slot"]
            try:
                appointment = services.book(
                    actor=actor, channel=Channel.WEB, site_id=site_id, motive=values["motive"], start=start,
                    phone=values["phone"], case_ref=values["case_ref"],
                )  # fmt: skip
            except (InvalidInput, NotFound, Conflict) as exc:
                booking.refuse(exc)
            else:
                return redirect("appointments:mine_detail", appointment_id=appointment.pk)
        return _mine_page(request, actor, booking, waiting, status=422)
    return _mine_page(request, actor, booking, waiting)


@require_POST
@insured_required
def my_waiting_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Join the waiting list for a site and a motive between two dates (freed slots are offered by SMS/e-mail)."""
    booking, waiting = _mine_forms(request, actor, bound="waiting")
    status = 422
    if waiting.is_valid():
        values = waiting.cleaned_data
        try:
            services.join_waiting_list(
                actor=actor, channel=Channel.WEB, site_id=_int(values["site"]) or 0, motive=values["motive"],
                earliest=values["earliest"], latest=values["latest"],
            )  # fmt: skip
        except (InvalidInput, NotFound, Conflict) as exc:
            waiting.refuse(exc)
            status = 409 if isinstance(exc, Conflict) else 422
        else:
            return redirect(reverse("appointments:mine") + "?waiting=1")
    return _mine_page(request, actor, booking, waiting, status=status)


@require_GET
@insured_required
def my_slots(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The free slots, an htmx fragment of the booking page; opened directly, the booking page itself."""
    if not request.htmx:  # type: ignore[attr-defined]
        return _page_instead(request, reverse("appointments:mine"))
    context = _slots_context(
        actor, motive=request.GET.get("motive", "")[:40], site=_int(request.GET.get("site")),
        day=parse_date(request.GET.get("from", "") or "") if len(request.GET.get("from", "")) == 10 else None,
    )  # fmt: skip
    return render(request, "appointments/_slots.html", context)


@require_GET
@insured_required
def my_appointment(request: HttpRequest, actor: Actor, appointment_id: int) -> HttpResponse:
    try:
        appointment = services.get_appointment(actor=actor, appointment_id=appointment_id)
    except NotFound:
        raise Http404(_("no such appointment")) from None
    return render(request, "appointments/detail.html", _detail_context(appointment))


@require_GET
@insured_required
def my_appointment_ics(request: HttpRequest, actor: Actor, appointment_id: int) -> HttpResponse:
    try:
        appointment = services.get_appointment(actor=actor, appointment_id=appointment_id)
    except NotFound:
        raise Http404(_("no such appointment")) from None
    return _ics_response(appointment)


@require_POST
@insured_required
def my_cancel(request: HttpRequest, actor: Actor, appointment_id: int) -> HttpResponse:
    try:
        services.cancel(actor=actor, channel=Channel.WEB, appointment_id=appointment_id)
    except NotFound:
        raise Http404(_("no such appointment")) from None
    except Conflict as exc:
        return error_page(request, exc.message, status=409)
    return redirect("appointments:mine")


def _ics_response(appointment: Appointment) -> HttpResponse:
    response = HttpResponse(services.ics(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rendez-vous-{appointment.pk}.ics"'
    return response


def _detail_context(appointment: Appointment) -> dict[str, Any]:
    qr_link = services.public_url(reverse("appointments:qr", args=[appointment.checkin_code]))
    return {
        "appointment": appointment,
        "local_start": appointment.start.astimezone(services.PARIS),
        "qr_svg": services.qr_svg(appointment.checkin_code),
        "qr_link": qr_link,
        "is_phone": appointment.mode == Mode.PHONE,
        "video_url": services.video_url(appointment),
        "deposit_url": services.deposit_url(appointment),
    }


# --- signed links -------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """Cancel or move an appointment from the link in its confirmation (no login: the link is signed)."""
    try:
        actor, appointment = services.appointment_from_link(token)
    except InvalidInput as exc:
        return render(request, "appointments/link_refused.html", {"reason": _error_text(exc)}, status=400)
    error, done = "", ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                appointment = services.cancel(actor=actor, channel=Channel.WEB, appointment_id=appointment.pk)
                done = _("Your appointment is cancelled.")
            else:
                _site, start = _chosen_slot(request)
                appointment = services.reschedule(
                    actor=actor, channel=Channel.WEB, appointment_id=appointment.pk, start=start
                )
                return redirect("appointments:manage", token=services.manage_token(appointment))
        except (InvalidInput, Conflict, NotFound) as exc:
            error = _error_text(exc)
    context = {
        **_detail_context(appointment),
        "token": token,
        "error": error,
        "done": done,
        **(
            _slots_context(actor, motive=appointment.motive_id, site=appointment.site_id)
            if appointment.status == "booked"
            else {}
        ),
    }
    return render(request, "appointments/manage.html", context, status=422 if error else 200)


@require_GET
def manage_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The .ics of an appointment, from the signed link in its confirmation (no login)."""
    try:
        _actor, appointment = services.appointment_from_link(token)
    except InvalidInput as exc:
        return render(request, "appointments/link_refused.html", {"reason": _error_text(exc)}, status=400)
    return _ics_response(appointment)


@require_GET
def qr(request: HttpRequest, code: str) -> HttpResponse:
    """The QR code of an appointment confirmation, to show at the kiosk. No name on it."""
    try:
        appointment = services.appointment_by_code(code)
    except NotFound:
        raise Http404(_("no such appointment")) from None
    return render(request, "appointments/qr.html", _detail_context(appointment))


@require_GET
def video(request: HttpRequest, room: str) -> HttpResponse:
    """The room of a video appointment (the unguessable link of its confirmation). No video service is wired
    yet: the page says when the call is and where the adviser will join."""
    try:
        appointment = services.video_room(room)
    except NotFound:
        raise Http404(_("no such video appointment")) from None
    return render(request, "appointments/video.html", _detail_context(appointment))


@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    """A freed slot offered to the waiting list (the signed link of the offer): shown, then booked on POST. A
    forged or expired link: 400; an offer already used or a slot taken meanwhile: 409; nothing booked."""
    try:
        if request.method == "POST":
            appointment = services.accept_offer(token=token)
            return redirect("appointments:manage", token=services.manage_token(appointment))
        entry, start = services.offer_from_link(token)
    except (InvalidInput, Conflict, NotFound) as exc:
        status = 400 if isinstance(exc, InvalidInput) and "token" in exc.fields else 409
        return render(request, "appointments/link_refused.html", {"reason": _error_text(exc)}, status=status)
    when = f"{start.astimezone(services.PARIS):%d/%m/%Y %H:%M}"
    return render(request, "appointments/offer.html", {"token": token, "entry": entry, "when": when})


# --- the agent's pages --------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@agent_required
def agent_book(request: HttpRequest, actor: Actor, person_id: int) -> HttpResponse:
    try:
        person = services.person_for(actor=actor, person_id=person_id)
    except NotFound:
        raise Http404(_("no such person")) from None
    form = AgentBookingForm(
        request.POST if request.method == "POST" else None,
        initial={"case_ref": request.GET.get("case", "")[:40], "channel": Channel.PHONE.value},
        motives=services.active_motives(),
        sites=list(services.visible_sites(actor=actor, person=person).order_by("name")),
        cases=services.open_cases(actor=actor, person_id=person.pk),
        channels=[
            (Channel.PHONE.value, Channel.PHONE.label),
            (Channel.RECEPTION.value, Channel.RECEPTION.label),
        ],
    )
    if request.method == "POST":
        if form.is_valid():
            values = form.cleaned_data
            site_id, start = values["slot"]
            try:
                services.book(
                    actor=actor, channel=values["channel"] or Channel.PHONE, person_id=person.pk, site_id=site_id,
                    motive=values["motive"], start=start, phone=values["phone"],
                    case_ref=values.get("case_ref", ""),
                )  # fmt: skip
            except (InvalidInput, NotFound, Conflict) as exc:
                form.refuse(exc)
            else:
                return redirect(reverse("crm:record", args=[person.pk]))
        status = 422
    else:
        status = 200
    return render(request, "appointments/agent_book.html", {"person": person, "form": form}, status=status)


@require_GET
@agent_required
def agent_slots(request: HttpRequest, actor: Actor, person_id: int) -> HttpResponse:
    """The free slots, an htmx fragment of the agent's booking page; opened directly, that page itself."""
    if not request.htmx:  # type: ignore[attr-defined]
        return _page_instead(request, reverse("appointments:agent_book", args=[person_id]))
    context = _slots_context(
        actor,
        motive=request.GET.get("motive", "")[:40],
        site=_int(request.GET.get("site")),
        person_id=person_id,
    )
    return render(request, "appointments/_slots.html", context)


@require_GET
@agent_required
def callbacks(request: HttpRequest, actor: Actor) -> HttpResponse:
    day = parse_date(request.GET.get("day", "") or "") if len(request.GET.get("day", "")) == 10 else None
    return _callbacks_page(request, actor, day=day, everyone=request.GET.get("all") == "1")


def _callbacks_page(
    request: HttpRequest, actor: Actor, *, day: dt.date | None, everyone: bool,
    refused: CallbackOutcomeForm | None = None, refused_id: int = 0,
) -> HttpResponse:  # fmt: skip
    """The day's call-backs, each booked one with its outcome form (the refused one as it was sent)."""
    items = services.callbacks_for_day(actor=actor, day=day, everyone=everyone)
    if refused is not None:
        refused.mark_refused()

    def form_of(a: Appointment) -> CallbackOutcomeForm:
        if refused is not None and a.pk == refused_id:
            return refused
        return CallbackOutcomeForm(appointment_id=a.pk, outcomes=Outcome.choices)

    context = {
        "callbacks": [
            {"a": a, "local": a.start.astimezone(services.PARIS), "form": form_of(a)} for a in items
        ],
        "day": day or dt.date.today(),
        "everyone": everyone,
        "purpose": _("Call-back appointment"),
    }
    return render(request, "appointments/callbacks.html", context, status=422 if refused is not None else 200)


@require_POST
@agent_required
def callback_outcome(request: HttpRequest, actor: Actor, appointment_id: int) -> HttpResponse:
    everyone = request.POST.get("all") == "1"
    form = CallbackOutcomeForm(request.POST, appointment_id=appointment_id, outcomes=Outcome.choices)
    if not form.is_valid():
        return _callbacks_page(
            request, actor, day=None, everyone=everyone, refused=form, refused_id=appointment_id
        )
    try:
        services.record_callback(
            actor=actor, appointment_id=appointment_id, answered=request.POST.get("answered") == "yes",
            outcome=form.cleaned_data["outcome"] or Outcome.RESOLVED, note=form.cleaned_data["note"],
        )  # fmt: skip
    except NotFound:
        raise Http404(_("no such appointment")) from None
    except InvalidInput as exc:
        form.refuse(exc)
        return _callbacks_page(
            request, actor, day=None, everyone=everyone, refused=form, refused_id=appointment_id
        )
    except Conflict as exc:
        return error_page(request, _error_text(exc), status=409)
    return redirect(reverse("appointments:callbacks") + ("?all=1" if request.POST.get("all") == "1" else ""))
