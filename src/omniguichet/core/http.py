"""HTTP helpers shared by the views of every app: where a login may send the browser back to, and the headers of
pages that must be neither cached nor indexed. See docs/security.md."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme

from omniguichet.core.text import control_character

REDIRECT_FIELD = "next"


def local_path(value: object) -> str | None:
    """`value` if it is a path of this site ("/compte/...": one leading slash, no scheme, no host), else None.

    Refused: absolute URLs (even to this host: nothing of ours needs one), scheme-relative "//host" and its
    variants ("/\\host", "%2F%2F" once decoded), relative values ("x y", "abc(", which `redirect()` would
    try to reverse as a URL name), and any whitespace or control character (browsers drop some of them, which can
    turn "/\\t/host" into "//host")."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if control_character(value) is not None or any(char.isspace() for char in value):
        return None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return None
    return value


def next_path(request: HttpRequest, default: str = "") -> str:
    """The local path a login or logout form was asked to go back to (`next`, posted or in the query string),
    or `default`: a value that is not a local path is ignored, never an error."""
    for source in (request.POST, request.GET):
        path = local_path(source.get(REDIRECT_FIELD))
        if path is not None:
            return path
    return default


class LocalNextMixin:
    """For Django's LoginView and LogoutView: `next` is honoured only as a local path (their own check lets
    relative values such as "x y" through)."""

    request: HttpRequest

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        return next_path(request or self.request)


def private_noindex(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that shows a person's data to whoever holds its link (document verification): not kept by any
    cache (browser, proxy) and not indexed by search engines."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper
