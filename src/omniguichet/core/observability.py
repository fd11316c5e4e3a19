"""Logs, request ids and metrics (docs/production.md, "Observability").

- Every request gets an id (the proxy's `X-Request-ID` when it is a plain token, else a new one), echoed in the
  response and written on every log line of the request. A task enqueued during the request is remembered with
  that id (`core.TaskOrigin`), and the worker's log lines while it runs carry it too.
- Log lines are JSON in production (`OMNIGUICHET_LOG_FORMAT=json`). Whatever the format, a filter masks what looks
  like a NIR, an e-mail address or a phone number in the message: no log line holds personal data, even when a
  library logs a value it was given.
- `/metrics` for Prometheus: requests by view and status with latency histograms (per process, gathered across
  gunicorn's workers in multiprocess mode), and, computed at each scrape from the database: the task queue's depth
  and oldest age, the ledger's messages by state and channel, the conversations overdue per caisse. Reachable from
  the networks of `OMNIGUICHET_METRICS_NETWORKS` or with the bearer token `OMNIGUICHET_METRICS_TOKEN`.

prometheus_client is imported on the first request or scrape, never at start-up.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hmac
import ipaddress
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("omniguichet_request_id", default="")

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# What personal data looks like in free text: a NIR (13 digits + 2, spaces allowed as people type them), an e-mail
# address, a French or international phone number.
_NIR = re.compile(
    r"(?<!\d)[12378]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}(?:\s?\d{2})?(?!\d)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")


def redact(text: str) -> str:
    """The text with NIR-, e-mail- and phone-shaped parts masked."""
    text = _NIR.sub("[NIR]", text)
    text = _EMAIL.sub("[e-mail]", text)
    return _PHONE.sub("[phone]", text)


def current_request_id() -> str:
    return request_id_var.get()


# --- logging ----------------------------------------------------------------------------------------------------
class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record and masks personal data in its message (the arguments are merged in
    first, so a NIR passed as an argument is masked too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log it as it is rather than lose the line
            message = str(record.msg)
        masked = redact(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def logging_config(*, json_lines: bool, level: str) -> dict[str, Any]:
    formatter = (
        {"()": "omniguichet.core.observability.JsonFormatter"}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "omniguichet.core.observability.RequestIdFilter"}},
        "formatters": {"line": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "filters": ["request"], "formatter": "line"}
        },
        "root": {"handlers": ["console"], "level": level},
    }


# --- the request id and the request metrics ---------------------------------------------------------------------
class RequestContext:
    """First middleware: the request's id (in a context variable for the log lines) and its duration for the
    metrics, by the view's name (a URL pattern, never the path: no person's id in a label)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else "unresolved"
        if view != "metrics":
            _observe(view, request.method or "", response.status_code, time.perf_counter() - started)
        return response


_metrics: dict[str, Any] = {}


def _request_metrics() -> tuple[Any, Any]:
    if not _metrics:
        from prometheus_client import Counter, Histogram

        _metrics["requests"] = Counter(
            "omniguichet_http_requests",
            "HTTP requests by view, method and status",
            ["view", "method", "status"],
        )
        _metrics["latency"] = Histogram(
            "omniguichet_http_request_seconds",
            "HTTP request duration by view",
            ["view"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
    return _metrics["requests"], _metrics["latency"]


def _observe(view: str, method: str, status: int, seconds: float) -> None:
    requests, latency = _request_metrics()
    requests.labels(view, method, str(status)).inc()
    latency.labels(view).observe(seconds)


# --- /metrics ---------------------------------------------------------------------------------------------------
def _allowed(request: HttpRequest) -> bool:
    from django.conf import settings

    token = settings.OMNIGUICHET_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for network in settings.OMNIGUICHET_METRICS_NETWORKS:
        try:
            if peer in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


# Figures read from the database at each scrape, registered by the apps that own them (the ledger's messages by
# state and channel, the overdue work items per caisse): name -> (help, label names, provider); provider(now)
# returns [(label values, value)] with a grouped query on an index.
Provider = Callable[[dt.datetime], list[tuple[tuple[str, ...], float]]]
_scrape_metrics: dict[str, tuple[str, tuple[str, ...], Provider]] = {}


def register_scrape_metric(name: str, help_text: str, labels: tuple[str, ...], provider: Provider) -> None:
    _scrape_metrics[name] = (help_text, labels, provider)


def _task_queue(now: dt.datetime) -> list[Any]:
    from django.conf import settings
    from prometheus_client.core import GaugeMetricFamily

    if settings.TASK_QUEUE == "redis":
        from omniguichet.core.rq import queue_figures

        count, oldest = queue_figures()
        queued = {
            "n": count,
            "oldest": oldest.replace(tzinfo=dt.UTC) if oldest and oldest.tzinfo is None else oldest,
        }
    else:
        from django.db.models import Count, Min
        from django_tasks_db.models import DBTaskResult

        queued = DBTaskResult.objects.filter(status="READY").aggregate(
            n=Count("id"), oldest=Min("enqueued_at")
        )
    depth = GaugeMetricFamily(
        "omniguichet_task_queue_depth", "Tasks waiting in the task queue (database or Redis)"
    )
    depth.add_metric([], queued["n"])
    age = GaugeMetricFamily(
        "omniguichet_task_queue_oldest_seconds", "Age of the oldest waiting task (seconds)"
    )
    age.add_metric([], (now - queued["oldest"]).total_seconds() if queued["oldest"] else 0)
    return [depth, age]


def _database_gauges() -> list[Any]:
    from django.utils import timezone
    from prometheus_client.core import GaugeMetricFamily

    now = timezone.now()
    families = _task_queue(now)
    for name, (help_text, labels, provider) in sorted(_scrape_metrics.items()):
        family = GaugeMetricFamily(name, help_text, labels=list(labels))
        for values, value in provider(now):
            family.add_metric(list(values), value)
        families.append(family)
    return families


def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _request_metrics()  # the families exist (empty) from the first scrape on
    registry: Any = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)

    class _Database:
        def collect(self) -> list[Any]:
            return _database_gauges()

    scrape = CollectorRegistry()
    scrape.register(_Database())
    body = generate_latest(registry) + generate_latest(scrape)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# --- the request id in tasks ------------------------------------------------------------------------------------
def remember_task_origin(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """django-tasks' `task_enqueued`: the task remembers the id of the request (or task) that enqueued it."""
    request_id = request_id_var.get()
    if not request_id:
        return
    from omniguichet.core.models import TaskOrigin

    TaskOrigin.objects.update_or_create(task_id=str(task_result.id), defaults={"request_id": request_id})


def adopt_task_origin(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """django-tasks' `task_started` (in the worker): the task's log lines carry its origin's request id, or the
    task's own id when it was enqueued outside any request."""
    from omniguichet.core.models import TaskOrigin

    origin = (
        TaskOrigin.objects.filter(task_id=str(task_result.id)).values_list("request_id", flat=True).first()
    )
    request_id_var.set(origin or f"task-{task_result.id}")


def forget_task_origin(sender: Any, task_result: Any, **kwargs: Any) -> None:
    from omniguichet.core.models import TaskOrigin

    TaskOrigin.objects.filter(task_id=str(task_result.id)).delete()
    request_id_var.set("")


def connect_task_signals() -> None:
    from django_tasks.signals import task_enqueued, task_finished, task_started

    task_enqueued.connect(remember_task_origin, dispatch_uid="omniguichet-task-origin")
    task_started.connect(adopt_task_origin, dispatch_uid="omniguichet-task-adopt")
    task_finished.connect(forget_task_origin, dispatch_uid="omniguichet-task-forget")
