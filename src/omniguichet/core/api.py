"""What every app's API shares: bearer-token authentication, the error format and its schemas, the handlers that
turn errors into it, and the docs page. The API object that mounts the apps' routers is built above the apps, in
`omniguichet.api` (the channel assembly), with `build_api()`."""

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
from ninja.renderers import JSONRenderer
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


_renderer = JSONRenderer()


def _error(
    request: HttpRequest, status: int, code: str, message: str, fields: dict | None = None
) -> HttpResponse:
    return shaped_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status
    )


def shaped_response(request: HttpRequest, body: object, status: int = 200) -> HttpResponse:
    """Render a body already built in the shape of the operation's declared response schema.

    Hot endpoints use it to skip pydantic re-validating every nested object (a third of a record request);
    the OpenAPI contract test (schemathesis) checks that the bodies still match the declared schemas.
    """
    return HttpResponse(
        _renderer.render(request, body, response_status=status),
        status=status,
        content_type=f"{_renderer.media_type}; charset={_renderer.charset}",
    )


def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.fields)


def on_throttled(request: HttpRequest, exc: throttle.Throttled) -> HttpResponse:
    response = _error(request, 429, exc.code, exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for err in exc.errors:
        # loc is like ("body", "payload", "birth_date"): the field is the last named part.
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        fields[".".join(loc) or "body"] = str(err.get("msg", "invalid"))
    message = "; ".join(f"{name}: {reason}" for name, reason in fields.items())
    return _error(request, 422, "invalid", message, fields)


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "unauthenticated", "a valid bearer token is required")
    response["WWW-Authenticate"] = "Bearer"
    return response


def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return too_big(request)


def too_big(request: HttpRequest) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"the request body is larger than {limit // (1024 * 1024)} MB"
    return _error(request, 413, "too_large", f"body: {message}", {"body": message})


def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", str(exc) or "not found")


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


def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Any other error: a 500 in the API's format (the debug page when DEBUG is on)."""
    if settings.DEBUG:
        raise exc
    _report(request, exc)
    return _error(request, 500, "server_error", _("an internal error occurred"))


# The error handlers every API of the platform installs (see `build_api`).
ERROR_HANDLERS: list[tuple[type[Exception], object]] = [
    (ServiceError, on_service_error),
    (throttle.Throttled, on_throttled),
    (NinjaValidationError, on_validation_error),
    (AuthenticationError, on_authentication_error),
    (RequestDataTooBig, on_too_big),
    (Http404, on_not_found),
    (HttpError, on_http_error),
    (DatabaseError, on_database_error),
    (Exception, on_unexpected_error),
]


def build_api(**kwargs: object) -> NinjaAPI:
    """A NinjaAPI with the platform's authentication, docs page and error format; the caller mounts routers."""
    api = NinjaAPI(auth=BearerToken(), docs=LocalSwagger(), **kwargs)  # type: ignore[arg-type]
    for exc_class, handler in ERROR_HANDLERS:
        api.add_exception_handler(exc_class, handler)  # type: ignore[arg-type]
    return api
