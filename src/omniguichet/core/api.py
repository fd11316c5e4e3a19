"""The HTTP API under /api/v1: bearer-token authentication, the error format, and the routers of every app."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from omniguichet.core import throttle
from omniguichet.core.errors import ServiceError
from omniguichet.core.services import authenticate_token


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = authenticate_token(token)
        if user is not None:
            request.user = user
        else:
            # Wrong tokens are counted per address (a right one costs nothing more): past the limit, 429.
            address = throttle.client_address(request)
            throttle.check("api.token", address)
            throttle.hit("api.token", address)
        return user


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    error: ErrorBody


class LocalSwagger(Swagger):
    """Swagger UI from the assets django-ninja ships, served by staticfiles (no CDN at run time).

    ninja renders its own template only when the string "ninja" is in INSTALLED_APPS (otherwise it falls back to
    a CDN page); the platform installs ninja's templates and static files through `core.apps.NinjaAssetsConfig`,
    so that start-up does not import ninja, and renders the page here, from a copy of ninja's template that names
    the page's language on <html> (ninja's has none, which screen readers and the RGAA need).
    """

    template = "core/api_docs.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: object) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            # Bearer tokens only: no auth of the API relies on the session cookie, so no CSRF token is needed.
            "add_csrf": any(getattr(a, "csrf", False) for a in api.auth or ()),  # type: ignore[union-attr]
        }
        return render(request, self.template, context)


api = NinjaAPI(
    title="omniguichet API",
    version="1",
    description="API of the omniguichet platform. Authenticate with `Authorization: Bearer <token>` "
    '(`omniguichet token --user NAME`). Errors: `{"error": {"code", "message", "fields"}}`.',
    auth=BearerToken(),
    urls_namespace="api-v1",
    docs=LocalSwagger(),
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, fields: dict | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def shaped_response(request: HttpRequest, body: object, status: int = 200) -> HttpResponse:
    """Render a body already built in the shape of the operation's declared response schema.

    Hot endpoints use it to skip pydantic re-validating every nested object (a third of a record request);
    the OpenAPI contract test (schemathesis) checks that the bodies still match the declared schemas.
    """
    return api.create_response(request, body, status=status)


@api.exception_handler(ServiceError)
def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(throttle.Throttled)
def on_throttled(request: HttpRequest, exc: throttle.Throttled) -> HttpResponse:
    response = _error(request, 429, exc.code, exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for err in exc.errors:
        # loc is like ("body", "payload", "birth_date"): the field is the last named part.
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        fields[".".join(loc) or "body"] = str(err.get("msg", "invalid"))
    message = "; ".join(f"{name}: {reason}" for name, reason in fields.items())
    return _error(request, 422, "invalid", message, fields)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "unauthenticated", "a valid bearer token is required")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return too_big(request)


def too_big(request: HttpRequest) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"the request body is larger than {limit // (1024 * 1024)} MB"
    return _error(request, 413, "too_large", f"body: {message}", {"body": message})


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", str(exc) or "not found")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # ninja's "Cannot parse request body": bad input like any other, with the field it concerns.
        return _error(request, 422, "invalid", f"body: {exc}", {"body": str(exc)})
    return _error(request, exc.status_code, "http_error", str(exc))


# Logged like Django logs an unhandled exception (its handlers, e-mail to admins included, still see it).
request_logger = logging.getLogger("django.request")


def _report(request: HttpRequest, exc: Exception) -> None:
    """What Django does with an unhandled exception: the log, and the signal error trackers listen to (Django's
    test client re-raises the exception on it, so a test still sees the real error)."""
    request_logger.error("%s: %s %s", type(exc).__name__, request.method, request.path, exc_info=exc)
    signals.got_request_exception.send(sender=None, request=request)


@api.exception_handler(DatabaseError)
def on_database_error(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    """A database error no service turned into a ServiceError still answers in the API's format, never with the
    HTML 500 page, and without the database's own message (it may quote values or the schema)."""
    _report(request, exc)
    if isinstance(exc, DataError):
        reason = _("a value was refused by the database")
        return _error(request, 422, "invalid", f"body: {reason}", {"body": reason})
    if isinstance(exc, IntegrityError):
        return _error(request, 409, "conflict", _("the request conflicts with data already recorded"))
    if isinstance(exc, OperationalError):  # locked, unreachable, out of connections: worth a retry
        response = _error(request, 503, "unavailable", _("the service is briefly unavailable, try again"))
        response["Retry-After"] = "5"
        return response
    return _error(request, 500, "server_error", _("an internal error occurred"))


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Any other error: a 500 in the API's format (the debug page when DEBUG is on)."""
    if settings.DEBUG:
        raise exc
    _report(request, exc)
    return _error(request, 500, "server_error", _("an internal error occurred"))


class MeOut(Schema):
    username: str
    role: str
    caisse: str | None
    national: bool


@api.get("/me", response={200: MeOut, 401: ErrorOut}, tags=["core"], summary="Who the token belongs to")
def me(request: HttpRequest) -> MeOut:
    user = request.user
    return MeOut(
        username=user.get_username(),
        role=user.role,  # type: ignore[union-attr]
        caisse=user.caisse_id,  # type: ignore[union-attr]
        national=user.is_national,  # type: ignore[union-attr]
    )


def register_routers() -> None:
    from omniguichet.accounts.api import router as accounts_router
    from omniguichet.analytics.api import router as analytics_router
    from omniguichet.appointments.api import router as appointments_router
    from omniguichet.cases.api import router as cases_router
    from omniguichet.crm.api import router as crm_router
    from omniguichet.documents.api import router as documents_router
    from omniguichet.outreach.api import router as outreach_router
    from omniguichet.referential.api import router as referential_router
    from omniguichet.teleservices.api import router as teleservices_router

    api.add_router("/", referential_router)
    api.add_router("/", crm_router)
    api.add_router("/", cases_router)
    api.add_router("/", outreach_router)
    api.add_router("/", accounts_router)
    api.add_router("/", teleservices_router)
    api.add_router("/", documents_router)
    api.add_router("/", appointments_router)
    api.add_router("/", analytics_router)


register_routers()
