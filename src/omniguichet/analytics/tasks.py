"""Background work of analytics, run by `omniguichet worker` (django-tasks): a warehouse export requested by the
national role (through the API), and the scheduled export every ANALYTICS_EXPORT_EVERY_SECONDS (0: none)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from omniguichet.analytics import services
from omniguichet.analytics.models import ExportTrigger
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict

log = logging.getLogger(__name__)
ACTOR = Actor.system("warehouse export")
RETRY_AFTER = dt.timedelta(minutes=1)


@task()
def run_export_task(run_id: int) -> int:
    """Run a queued export; while another export holds the warehouse, try again a minute later."""
    try:
        run = services.run_export(actor=ACTOR, channel=Channel.BACKOFFICE, run_id=run_id)
    except Conflict:
        run_export_task.using(run_after=timezone.now() + RETRY_AFTER).enqueue(run_id)
        return 0
    return run.contacts


@task()
def scheduled_export() -> int:
    """Queue and run an export now, then come back after ANALYTICS_EXPORT_EVERY_SECONDS (one run per period
    whichever worker takes it: a second chain ends here)."""
    from omniguichet.core.workers import claim_slot

    if _every() > 0 and not claim_slot("analytics.scheduled_export", _every()):
        return 0
    try:
        run, _created = services.request_export(
            actor=ACTOR, channel=Channel.BACKOFFICE, trigger=ExportTrigger.SCHEDULE
        )
        try:
            return services.run_export(actor=ACTOR, channel=Channel.BACKOFFICE, run_id=run.pk).contacts
        except (
            Conflict
        ):  # an export requested through the API is running: the queued run waits for the next turn
            log.info("warehouse export already running; scheduled run %s waits", run.pk)
            return 0
    finally:
        _enqueue_next()


def _every() -> int:
    return int(getattr(settings, "ANALYTICS_EXPORT_EVERY_SECONDS", 0))


def _enqueue_next() -> None:
    if _every() > 0:
        scheduled_export.using(run_after=timezone.now() + dt.timedelta(seconds=_every())).enqueue()


def _schedule_waiting() -> bool:
    """Whether a scheduled export is already queued (database backend only; other backends always start one)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return False
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=scheduled_export.module_path
    ).exists()


def start_schedule() -> None:
    """On worker start: make sure one chain of scheduled exports runs (when a period is set)."""
    if _every() > 0 and not _schedule_waiting():
        scheduled_export.using(run_after=timezone.now() + dt.timedelta(seconds=_every())).enqueue()


def enqueue_export(run_id: int) -> None:
    """Set as analytics.services' export hook at start-up (analytics.apps)."""
    run_export_task.enqueue(run_id)
