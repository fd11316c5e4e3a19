"""Production pieces: the start-up refusal, the CSP exception for framed previews, health and readiness views.

Nothing here is imported at start-up unless OMNIGUICHET_PRODUCTION is set (the middleware) or a health URL is hit.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

REQUIRED_ENVIRONMENT = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")


def missing_environment(environ: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    """The variables production needs that are unset or empty (SECRET_KEY from the environment, never var/)."""
    environ = os.environ if environ is None else environ
    return [name for name in REQUIRED_ENVIRONMENT if not environ.get(name, "").strip()]


class FrameAncestorsFollowXFrameOptions:
    """A response a view allowed to be framed by its own site (xframe_options_sameorigin: the document preview)
    gets CSP frame-ancestors 'self' instead of the site-wide 'none'. Placed after csp's middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("X-Frame-Options", "").upper() == "SAMEORIGIN":
            response._csp_replace = {"frame-ancestors": ["'self'"]}  # type: ignore[attr-defined]
        return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """The process lives and answers (no database)."""
    return _no_store(JsonResponse({"status": "ok"}))


def _check_database() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    from django.core.cache import cache

    cache.set("omniguichet:readyz", "1", 10)
    if cache.get("omniguichet:readyz") != "1":
        raise RuntimeError("cache does not keep a value")


def _check_task_queue() -> None:
    from django.conf import settings

    if getattr(settings, "TASK_QUEUE", "database") == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=settings.HEALTH_CHECK_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
    elif settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.exists()


def _check_document_storage() -> None:
    from django.core.files.storage import storages

    storages["documents"].exists("readyz-probe")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "task_queue": _check_task_queue,
    "document_storage": _check_document_storage,
}


def _run(check: Callable[[], None], timeout: float) -> str:
    """Runs a check in its own thread (and so its own database connection, closed after), within `timeout`."""
    outcome: list[str] = []

    def target() -> None:
        from django.db import connections

        try:
            check()
            outcome.append("ok")
        except Exception as error:  # any failure: not ready; only its type is told
            outcome.append(f"error: {type(error).__name__}")
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else "timeout"


def readyz(request: HttpRequest) -> HttpResponse:
    """Every dependency reachable: 200, else 503; the body names each check (no personal data)."""
    from django.conf import settings

    started = time.monotonic()
    checks = {name: _run(check, settings.HEALTH_CHECK_TIMEOUT) for name, check in CHECKS.items()}
    ready = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": checks,
        "seconds": round(time.monotonic() - started, 3),
    }
    return _no_store(JsonResponse(body, status=200 if ready else 503))
