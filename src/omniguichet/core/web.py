"""What every app's pages share: the decorators that let a person, an agent or a kiosk in (each view receives
its `Actor`), the refusal page and the error context of a refused form (the fields themselves are Django forms,
core.forms). Apps' views import these from here, never from each other's views."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, insured_actor, staff_actor
from omniguichet.core.errors import Forbidden, InvalidInput, ServiceError

# The authentication backend of insured persons' passwords (the web account and the kiosk open sessions with it).
INSURED_BACKEND = "omniguichet.accounts.backends.PasswordBackend"

# The kiosk's page layout (large touch targets, idle end); every kiosk page of any app extends it.
KIOSK_BASE_TEMPLATE = "teleservices/base_kiosk.html"


def error_context(exc: ServiceError) -> dict[str, Any]:
    """Field messages go under their inputs; the message of a refusal (locked, conflict...) goes on top. The
    message of invalid input only repeats the fields, so the form says how many need correcting instead."""
    return {"errors": exc.fields, "message": "" if isinstance(exc, InvalidInput) else exc.message}


def error_page(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    """A refusal of a form sent without htmx (a conflict, invalid input) as a page of the platform — title,
    language, a way back — instead of bare text; htmx requests (which do not swap 4xx answers) get the text."""
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return render(request, "core/error.html", {"message": message, "back": back}, status=status)


def _insured(request: HttpRequest) -> Actor | None:
    if not request.user.is_authenticated:
        return None
    try:
        return insured_actor(request.user)
    except Forbidden:
        return None


def insured_required(view):
    """Logged in with an online account; the view receives the actor. Others go to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = _insured(request)
        if actor is not None:
            return view(request, actor, *args, **kwargs)
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}")

    return wrapper


def agent_required(view):
    """Logged in with a staff role and its second factor; the view receives the actor."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            actor = staff_actor(request.user)  # type: ignore[arg-type]
        except Forbidden:
            raise PermissionDenied(_("The agent console is reserved to caisse staff.")) from None
        if not getattr(request.user, "is_verified", lambda: False)():
            return redirect(reverse("crm:second_factor") + "?" + urlencode({"next": request.get_full_path()}))
        return view(request, actor, *args, **kwargs)

    return wrapper


def kiosk_required(view):
    """A person logged in at the kiosk; each page pushes the end of the session back by the idle time."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = _insured(request) if request.session.get("og_kiosk") else None
        if actor is None:
            return redirect("teleservices:kiosk_login")
        request.session.set_expiry(settings.KIOSK_IDLE_SECONDS)
        return view(request, actor, *args, **kwargs)

    return wrapper
