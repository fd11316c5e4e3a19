"""Pages drawn from the teleservice declarations: the web account (/compte/services/), the kiosk (/borne/),
the agent console (/agent/persons/<id>/services/), and the public check of an attestation (/verify/<code>)."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from omniguichet.accounts import services as accounts
from omniguichet.accounts.forms import CodeForm, LoginForm, code_label
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden, NotFound, ServiceError
from omniguichet.core.throttle import attempt, client_address
from omniguichet.core.web import INSURED_BACKEND as BACKEND
from omniguichet.core.web import (
    KIOSK_BASE_TEMPLATE,
    agent_required,
    error_context,
    insured_required,
    kiosk_required,
)
from omniguichet.referential.services import get_person
from omniguichet.referential.validators import mask_nir
from omniguichet.teleservices import services
from omniguichet.teleservices.forms import service_form
from omniguichet.teleservices.services import AGENT_CHANNELS


def _raw_input(request: HttpRequest, service: services.Teleservice) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for f in service.fields:
        if f.kind == "file":
            if f.name in request.FILES:
                raw[f.name] = request.FILES[f.name]
        elif f.name in request.POST:
            raw[f.name] = request.POST[f.name]
    return raw


class Surface:
    """Where a service page is shown: which base template, which channel, and the URLs of its pages."""

    def __init__(self, *, name: str, base: str, person_id: int | None = None):
        self.name, self.base, self.person_id = name, base, person_id

    def form_url(self, code: str) -> str:
        if self.name == "agent":
            return reverse("teleservices:agent_form", args=[self.person_id, code])
        return reverse(f"teleservices:{self.name}_form", args=[code])

    def request_url(self, request_id: int) -> str:
        return reverse(f"teleservices:{self.name}_request", args=[request_id])

    def document_url(self, request_id: int, fmt: str) -> str:
        return reverse(f"teleservices:{self.name}_document", args=[request_id]) + f"?format={fmt}"

    def home_url(self) -> str:
        if self.name == "agent":
            return reverse("teleservices:agent_services", args=[self.person_id])
        return reverse("accounts:home") if self.name == "web" else reverse("teleservices:kiosk_home")


def _service_page(
    request: HttpRequest, actor: Actor, surface: Surface, code: str, channel: str, person_id: int | None
) -> HttpResponse:
    try:
        service = services.get_service(code)
    except NotFound:
        raise Http404 from None
    context: dict[str, Any] = {
        "service": service,
        "surface": surface,
        "base": surface.base,
        "errors": {},
        "message": "",
        "refused": "",
        "kiosk_idle_seconds": settings.KIOSK_IDLE_SECONDS,
    }
    if surface.name == "agent":
        context["agent_channels"] = [(c.value, c.label) for c in AGENT_CHANNELS]
        context["person"] = get_person(actor=actor, person_id=person_id or 0)
        if not services.record_opened_recently(actor=actor, person=context["person"]):
            return redirect("crm:record", person_id)
    form = service_form(
        service, request.POST if request.method == "POST" else None, request.FILES,
        channels=context.get("agent_channels"),
    )  # fmt: skip
    if request.method == "POST":
        if surface.name == "agent":
            channel = request.POST.get("channel", "")
        try:
            used = services.use_service(
                actor=actor,
                channel=channel,
                code=code,
                person_id=person_id,
                data=_raw_input(request, service),
                idempotency_key=request.POST.get("idempotency_key"),
                address=client_address(request),
            )
        except Forbidden as exc:
            context["refused"] = exc.message
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            context.update(error_context(exc))
            form.refuse(exc)
        else:
            return redirect(surface.request_url(used.request.pk))
    else:
        person = context.get("person")
        if person is None and actor.person_id:
            person = accounts.account_of(actor=actor).person
        refused = services.refusal(service, channel=channel, person=person) if person else None
        context["refused"] = refused.message if refused else ""
    context["form"] = form
    # A fresh key per displayed form; a re-displayed form (after an error) keeps the same one.
    context["idempotency_key"] = request.POST.get("idempotency_key") or secrets.token_urlsafe(24)
    status = 403 if context["refused"] else 422 if context["errors"] or context["message"] else 200
    return render(request, "teleservices/form.html", context, status=status)


def _display_line(line: dict[str, Any]) -> dict[str, Any]:
    """A statement line for display: real dates and amounts, so that templates format them for the language."""
    return {
        **line,
        "care_date": dt.date.fromisoformat(line["care_date"]),
        "paid_on": dt.date.fromisoformat(line["paid_on"]),
        "reimbursed": Decimal(line["reimbursed"]),
    }


def _request_page(request: HttpRequest, actor: Actor, surface: Surface, request_id: int) -> HttpResponse:
    try:
        req = services.get_request(actor=actor, request_id=request_id)
    except NotFound:
        raise Http404 from None
    if surface.name == "agent":
        surface.person_id = req.person_id
    service = services.CATALOGUE.get(req.service)
    formats = req.result.get("document_formats") or []
    context = {
        "req": req,
        "service": service,
        "surface": surface,
        "base": surface.base,
        "message": req.result.get("message", ""),
        "documents": [(fmt.upper(), surface.document_url(req.pk, fmt)) for fmt in formats],
        "lines": [_display_line(line) for line in req.result.get("lines") or []],
        "new_key": secrets.token_urlsafe(24),
        "form_url": surface.form_url(req.service),
        "home_url": surface.home_url(),
        "agent_channels": [(c.value, c.label) for c in AGENT_CHANNELS],
        "person": req.person,
        "kiosk_idle_seconds": settings.KIOSK_IDLE_SECONDS,
    }
    return render(request, "teleservices/request.html", context)


def _document(actor: Actor, request_id: int, fmt: str) -> HttpResponse:
    try:
        content, content_type, filename = services.request_document(
            actor=actor, request_id=request_id, fmt=fmt
        )
    except NotFound:
        raise Http404 from None
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- web account ------------------------------------------------------------------------------------------
WEB = Surface(name="web", base="accounts/base_account.html")


@require_http_methods(["GET", "POST"])
@insured_required
def web_form(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    return _service_page(request, actor, WEB, code, Channel.WEB, None)


@require_GET
@insured_required
def web_request(request: HttpRequest, actor: Actor, request_id: int) -> HttpResponse:
    return _request_page(request, actor, WEB, request_id)


@require_GET
@insured_required
def web_document(request: HttpRequest, actor: Actor, request_id: int) -> HttpResponse:
    return _document(actor, request_id, request.GET.get("format", "pdf"))


# --- kiosk ------------------------------------------------------------------------------------------------
KIOSK = Surface(name="kiosk", base=KIOSK_BASE_TEMPLATE)


def _kiosk_open(request: HttpRequest, user) -> HttpResponse:
    login(request, user, backend=BACKEND)
    request.session["og_kiosk"] = True
    request.session.set_expiry(settings.KIOSK_IDLE_SECONDS)
    return redirect("teleservices:kiosk_home")


@require_http_methods(["GET", "POST"])
def kiosk_login(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"errors": {}, "message": "", "base": KIOSK.base, "step": "password"}
    data = request.POST
    if request.method == "POST":
        try:
            if data.get("step") == "code":
                user = accounts.confirm_second_factor(
                    challenge=request.session.get("og_kiosk_challenge", ""),
                    code=data.get("code", ""),
                    channel=Channel.KIOSK,
                    address=client_address(request),
                )
                return _kiosk_open(request, user)
            result = accounts.authenticate(
                nir=data.get("nir", ""),
                password=data.get("password", ""),
                channel=Channel.KIOSK,
                address=client_address(request),
            )
            if result.second_factor is None:
                return _kiosk_open(request, result.user)
            request.session["og_kiosk_challenge"] = result.second_factor.challenge
            request.session["og_kiosk_delivery"] = result.second_factor.delivery
            context["step"] = "code"
        except ServiceError as exc:
            context.update(error_context(exc), step=data.get("step", "password"))
    # After a refusal the form comes back bound (typed values kept, the password never); the next step is fresh.
    refused = bool(context["errors"] or context["message"])
    bound = data if request.method == "POST" and refused else None
    if context["step"] == "code":
        form: Any = CodeForm(bound, label=code_label(request.session.get("og_kiosk_delivery")))
    else:
        form = LoginForm(bound)
    if bound is not None:
        form.is_valid()
        for name, reason in context["errors"].items():
            if name not in form.errors:
                form.add_error(name if name in form.fields else None, reason)
    form.message = context["message"]
    context["form"] = form
    return render(request, "teleservices/kiosk_login.html", context, status=422 if context["errors"] else 200)


@require_POST
def kiosk_end(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("teleservices:kiosk_login")


@require_GET
@kiosk_required
def kiosk_home(request: HttpRequest, actor: Actor) -> HttpResponse:
    context = {
        "base": KIOSK.base,
        "services": services.offered_services(actor=actor, channel=Channel.KIOSK),
        "person": accounts.account_of(actor=actor).person,
        "kiosk_idle_seconds": settings.KIOSK_IDLE_SECONDS,
    }
    return render(request, "teleservices/kiosk_home.html", context)


@require_http_methods(["GET", "POST"])
@kiosk_required
def kiosk_form(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    return _service_page(request, actor, KIOSK, code, Channel.KIOSK, None)


@require_GET
@kiosk_required
def kiosk_request(request: HttpRequest, actor: Actor, request_id: int) -> HttpResponse:
    return _request_page(request, actor, KIOSK, request_id)


@require_GET
@kiosk_required
def kiosk_document(request: HttpRequest, actor: Actor, request_id: int) -> HttpResponse:
    return _document(actor, request_id, request.GET.get("format", "pdf"))


# --- agent console ---------------------------------------------------------------------------------------
def _agent_surface(person_id: int | None = None) -> Surface:
    return Surface(name="agent", base="crm/base_agent.html", person_id=person_id)


@require_GET
@agent_required
def agent_services(request: HttpRequest, actor: Actor, person_id: int) -> HttpResponse:
    try:
        person = get_person(actor=actor, person_id=person_id)
    except NotFound:
        raise Http404 from None
    if not services.record_opened_recently(actor=actor, person=person):
        return redirect("crm:record", person_id)
    context = {
        "person": person,
        "nir_masked": mask_nir(person.nir),
        "services": services.offered_services(actor=actor, channel=Channel.PHONE, person=person),
        "requests": [
            (r, services.CATALOGUE[r.service].title if r.service in services.CATALOGUE else r.service)
            for r in services.recent_requests(actor=actor, person=person)
        ],
    }
    return render(request, "teleservices/agent_services.html", context)


@require_http_methods(["GET", "POST"])
@agent_required
def agent_form(request: HttpRequest, actor: Actor, person_id: int, code: str) -> HttpResponse:
    try:
        return _service_page(request, actor, _agent_surface(person_id), code, Channel.PHONE, person_id)
    except NotFound:
        raise Http404 from None


@require_GET
@agent_required
def agent_request(request: HttpRequest, actor: Actor, request_id: int) -> HttpResponse:
    return _request_page(request, actor, _agent_surface(), request_id)


@require_GET
@agent_required
def agent_document(request: HttpRequest, actor: Actor, request_id: int) -> HttpResponse:
    return _document(actor, request_id, request.GET.get("format", "pdf"))


# --- public check of an attestation ----------------------------------------------------------------------
@require_GET
def verify(request: HttpRequest, code: str = "") -> HttpResponse:
    code = code or request.GET.get("code", "")
    if code:  # every check counts on the address's throttle (codes cannot be tried in bulk); the form is free
        attempt([("verify.address", client_address(request))])
    attestation = services.verify_attestation(code=code) if code else None
    content = attestation.content if attestation else {}
    context = {
        "code": code,
        "attestation": attestation,
        "checked": bool(code),
        "rights_from": dt.date.fromisoformat(content["rights_from"]) if content.get("rights_from") else None,
        "rights_to": dt.date.fromisoformat(content["rights_to"]) if content.get("rights_to") else None,
        # A certificate of daily allowances: the period it covers and the total paid.
        "period_from": dt.date.fromisoformat(content["date_from"]) if content.get("date_from") else None,
        "period_to": dt.date.fromisoformat(content["date_to"]) if content.get("date_to") else None,
        "total": Decimal(content["total"]) if content.get("total") else None,
    }
    return render(
        request, "teleservices/verify.html", context, status=404 if code and not attestation else 200
    )
