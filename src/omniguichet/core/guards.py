"""Middleware of the security rules that are not a view's business: the 429 page of the throttling service, and
the staff session (second factor, idle timeout, absolute lifetime). See docs/security.md."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from omniguichet.core.throttle import Throttled

# Session keys of a staff session: when the password was accepted, and when the session was last used.
STAFF_LOGIN_AT = "og_staff_login_at"
STAFF_SEEN_AT = "og_staff_seen_at"
# The last-use time is written at most this often (seconds): a page view is not a session write.
SEEN_RESOLUTION = 60


def _now() -> float:
    """The clock of the session rules (tests move it forward)."""
    return time.time()


def throttled_response(request: HttpRequest, exc: Throttled) -> HttpResponse:
    """429 with Retry-After: in the API's error format under /api/, else a page in the person's language."""
    if request.path_info.startswith("/api/"):
        from omniguichet.core.api import _error

        response = _error(request, 429, exc.code, exc.message)
    else:
        response = render(request, "429.html", {"message": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


class ThrottledPage:
    """Any page whose service refused an attempt (core.throttle.Throttled) answers the 429 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Throttled):
            return throttled_response(request, exception)
        return None


def is_staff_login(user) -> bool:
    """A staff login (a role, or the admin's flags); an insured person's login has none of them."""
    return bool(user.is_authenticated and (user.role or user.is_staff or user.is_superuser))


# Pages a staff session may reach before its second factor: the login steps themselves, the static files and
# the API (bearer tokens, not sessions). The admin checks the second factor itself (OTPAdminSite).
OTP_EXEMPT_PREFIXES = ("/agent/login/", "/agent/logout/", "/static/", "/api/", "/admin/")


class StaffSessionGuard:
    """A staff session ends after STAFF_SESSION_IDLE_SECONDS without a request, and in any case
    STAFF_SESSION_MAX_SECONDS after its login (one working day); until its second factor is given, it reaches
    only the login steps. Insured persons' sessions are left to their own rule (ACCOUNT_SESSION_SECONDS)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and not request.path_info.startswith("/api/") and is_staff_login(user):
            response = self._guard(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _guard(self, request: HttpRequest, user) -> HttpResponse | None:
        session = request.session
        now = _now()
        login_at = session.get(STAFF_LOGIN_AT)
        seen_at = session.get(STAFF_SEEN_AT, login_at)
        idle = settings.STAFF_SESSION_IDLE_SECONDS
        if (
            login_at is None
            or now - login_at > settings.STAFF_SESSION_MAX_SECONDS
            or (seen_at is not None and now - seen_at > idle)
        ):
            logout(request)
            return self._to_login(request)
        if seen_at is None or now - seen_at >= SEEN_RESOLUTION:
            session[STAFF_SEEN_AT] = now
            # The cookie and the stored session end with the idle time too (or at the absolute end if sooner).
            session.set_expiry(max(1, int(min(idle, login_at + settings.STAFF_SESSION_MAX_SECONDS - now))))
        if not getattr(user, "is_verified", lambda: False)() and not request.path_info.startswith(
            OTP_EXEMPT_PREFIXES
        ):
            return redirect(reverse("crm:second_factor") + "?" + urlencode({"next": request.get_full_path()}))
        return None

    @staticmethod
    def _to_login(request: HttpRequest) -> HttpResponse:
        return redirect(reverse("crm:login") + "?" + urlencode({"next": request.get_full_path()}))


def start_staff_session(request: HttpRequest) -> None:
    """Called when a staff password is accepted (signal user_logged_in): the session's clocks start."""
    now = _now()
    request.session[STAFF_LOGIN_AT] = now
    request.session[STAFF_SEEN_AT] = now
    request.session.set_expiry(settings.STAFF_SESSION_IDLE_SECONDS)
