"""The agent console (/agent/): search, the customer record on one screen, its timeline, adding a contact."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget
from django_otp import login as otp_login

from omniguichet.core import staff_otp, throttle
from omniguichet.core.actors import CONTACT_CHANNEL_CHOICES, Actor, Channel
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.core.guards import is_staff_login
from omniguichet.core.http import LocalNextMixin, next_path
from omniguichet.core.web import agent_required, error_page
from omniguichet.crm import services
from omniguichet.crm.forms import ContactForm
from omniguichet.crm.models import Outcome
from omniguichet.crm.purposes import PURPOSES
from omniguichet.referential.validators import mask_nir

CHANNEL_ICONS = {
    "web": "fr-icon-computer-line",
    "app": "fr-icon-smartphone-line",
    "kiosk": "fr-icon-tablet-line",
    "phone": "fr-icon-phone-line",
    "email": "fr-icon-mail-line",
    "reception": "fr-icon-building-line",
    "letter": "fr-icon-mail-open-line",
    "sms": "fr-icon-chat-3-line",
    "push": "fr-icon-notification-3-line",
    "secure_message": "fr-icon-mail-lock-line",
}
AGENT_CHANNELS = [Channel.PHONE, Channel.RECEPTION, Channel.EMAIL, Channel.LETTER]


class LoginView(LocalNextMixin, auth_views.LoginView):
    """The password, first of the two steps of a staff login (throttled in the authentication backend); the
    second factor comes next (second_factor below)."""

    template_name = "crm/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        auth_login(self.request, form.get_user())
        return redirect(reverse("crm:second_factor") + "?" + urlencode({"next": self.get_success_url()}))


@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """The second step of a staff login: the code of the authenticator app (TOTP). A login with no device yet
    enrols one here: its secret and QR code are shown until the first right code confirms it."""
    user = request.user
    if not is_staff_login(user):
        return redirect("crm:login")
    next_url = next_path(request, reverse("crm:console"))
    if user.is_verified():  # type: ignore[union-attr]
        return redirect(next_url)
    error = ""
    if request.method == "POST":
        device = staff_otp.verify(
            user=user, code=request.POST.get("code", ""), address=throttle.client_address(request)
        )
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        error = _("Wrong or expired code: type the code your app shows now.")
    enrolment = staff_otp.device_for(user)
    context = {
        "enrolling": enrolment.enrolling,
        "secret": enrolment.secret if enrolment.enrolling else "",
        "qr_svg": enrolment.qr_svg() if enrolment.enrolling else "",
        "error": error,
        "next": next_url,
    }
    return render(request, "crm/second_factor.html", context, status=422 if error else 200)


class LogoutView(LocalNextMixin, auth_views.LogoutView):
    pass


def _purpose(request: HttpRequest) -> str:
    value = request.GET.get("purpose") or request.POST.get("purpose") or ""
    return value if value in [str(p) for p in PURPOSES] else str(PURPOSES[0])


@require_GET
@agent_required
def console(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "crm/console.html", {"purposes": PURPOSES, "purpose": _purpose(request)})


@require_GET
@agent_required
def search(request: HttpRequest, actor: Actor) -> HttpResponse:
    q = request.GET.get("q", "")
    context: dict[str, Any] = {"q": q, "purpose": _purpose(request), "persons": [], "error": ""}
    if q.strip():
        try:
            context["persons"] = [
                {"person": p, "nir_masked": mask_nir(p.nir)}
                for p in services.search_persons(actor=actor, channel=Channel.BACKOFFICE, q=q)
            ]
        except InvalidInput as exc:
            context["error"] = exc.fields.get("q", exc.message)
    template = "crm/_results.html" if request.htmx else "crm/console.html"  # type: ignore[attr-defined]
    context["purposes"] = PURPOSES
    return render(request, template, context)


def _timeline_context(page: services.TimelinePage) -> dict[str, Any]:
    return {
        "contacts": [
            {
                "c": c,
                "icon": CHANNEL_ICONS.get(c.channel, "fr-icon-question-line"),
                "url": services.subject_link(c.subject_kind, c.subject_ref),
            }
            for c in page.contacts
        ],
        "next_cursor": page.next_cursor,
    }


@require_GET
@agent_required
def record(request: HttpRequest, actor: Actor, person_id: int) -> HttpResponse:
    try:
        opened = services.open_record(
            actor=actor, channel=Channel.BACKOFFICE, person_id=person_id, purpose=_purpose(request)
        )
    except NotFound:
        raise Http404(_("no such person")) from None
    person = opened.person
    motives = list(services.iter_motives())
    # A motive given with the link (the telephony screen-pop passes the caller's voice-menu choice) is preselected.
    call_motive = request.GET.get("motive", "")
    call_motive = call_motive if call_motive in {m.code for m in motives} else ""
    context = {
        "record": opened,
        "person": person,
        "nir_masked": mask_nir(person.nir),
        "purpose": _purpose(request),
        "channels": CONTACT_CHANNEL_CHOICES,
        "outcomes": Outcome.choices,
        "motives": motives,
        "call_motive": call_motive,
        "contact_form": _contact_form(
            None, motives, initial={"purpose": _purpose(request), "motive": call_motive}
        ),
        "record_sections": [
            (_("Open cases"), opened.open_cases),
            (_("Next appointments"), opened.next_appointments),
            (_("Recent documents"), opened.recent_documents),
        ],
        **_timeline_context(opened.timeline),
    }
    return render(request, "crm/record.html", context)


@require_GET
@agent_required
def timeline(request: HttpRequest, actor: Actor, person_id: int) -> HttpResponse:
    """A page of the timeline, an htmx fragment of the record; opened directly, the record itself."""
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(reverse("crm:record", args=[person_id]))
    try:
        page = services.consulted_timeline(
            actor=actor,
            person_id=person_id,
            channel=request.GET.get("channel") or None,
            motive=request.GET.get("motive") or None,
            cursor=request.GET.get("cursor") or None,
        )
    except NotFound:
        raise Http404(_("no such person")) from None
    except Forbidden:
        return redirect(reverse("crm:record", args=[person_id]))
    except InvalidInput as exc:
        return HttpResponse(exc.message, status=422)
    context = {"person_id": person_id, "append": bool(request.GET.get("cursor")), **_timeline_context(page)}
    return render(request, "crm/_timeline.html", context)


def _contact_form(data: Any, motives: list, **kwargs: Any) -> ContactForm:
    return ContactForm(data, channels=[(c.value, c.label) for c in AGENT_CHANNELS], motives=motives, **kwargs)


@require_POST
@agent_required
def add_contact(request: HttpRequest, actor: Actor, person_id: int) -> HttpResponse:
    """Record a contact from the record. Refused with htmx: the form again, answered under its fields, in place
    of the one sent; without: the refusal's page."""
    data = request.POST
    form = _contact_form(data, list(services.iter_motives()))
    try:
        if not form.is_valid():
            raise InvalidInput.from_fields(form.field_errors())
        values = form.cleaned_data
        waited = values["waited_minutes"]
        services.add_agent_contact(
            actor=actor, channel=values["channel"], person_id=person_id, motive=values["motive"],
            outcome=values["outcome"] or Outcome.RESOLVED, note=values["note"],
            answered=data.get("answered", "yes") == "yes", on_appointment=data.get("on_appointment") == "yes",
            waited_seconds=waited * 60 if waited is not None else None,
        )  # fmt: skip
    except NotFound:
        raise Http404(_("no such person")) from None
    except InvalidInput as exc:
        if not request.htmx:  # type: ignore[attr-defined]
            return error_page(request, exc.message, status=422)
        form.refuse(exc)
        # htmx swaps only successful answers: the answered form replaces the one sent.
        response = render(
            request, "crm/_contact_form.html", {"contact_form": form, "person": {"pk": person_id}}
        )
        return reswap(retarget(response, "#contact-form"), "outerHTML")
    if request.htmx:  # type: ignore[attr-defined]
        page = services.consulted_timeline(actor=actor, person_id=person_id)
        return render(request, "crm/_timeline.html", {"person_id": person_id, **_timeline_context(page)})
    return redirect(reverse("crm:record", args=[person_id]) + f"?purpose={_purpose(request)}")
