"""Request guards shared by every page and endpoint."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _


class RefuseNulBytes:
    """A NUL character in the path or a query parameter is refused at once: no text the platform accepts may hold
    one, and PostgreSQL refuses it in any text parameter (a server error deep in some query otherwise). The API
    answers in its error format with the fields concerned; pages answer 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A raw NUL cannot travel in a URL: in the query string it is always percent-encoded.
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path_info:
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest) -> HttpResponse:
        reason = _("must not contain a NUL character")
        fields = {name: reason for name, values in request.GET.lists() if any("\x00" in v for v in values)}
        if not fields:
            fields = {"path": reason}
        if request.path_info.startswith("/api/"):
            from omniguichet.core.api import _error

            message = "; ".join(f"{name}: {why}" for name, why in fields.items())
            return _error(request, 422, "invalid", message, fields)
        return HttpResponseBadRequest(
            ", ".join(fields) + " : " + reason, content_type="text/plain; charset=utf-8"
        )
