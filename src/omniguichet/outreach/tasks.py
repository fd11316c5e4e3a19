"""Background work of outreach, run by `omniguichet worker` (django-tasks): dispatch of the ledger, and a sweep
that comes back every OUTREACH_SWEEP_SECONDS for deferred messages, retries, leases of a dead worker and the
document reminders."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from omniguichet.outreach import services

log = logging.getLogger(__name__)


@task()
def dispatch_messages() -> int:
    """Send what is due in the ledger, batch after batch."""
    return services.drain().sent


def enqueue_dispatch() -> None:
    """Registered with the ledger at start-up (outreach.apps): a write of the ledger asks for a dispatch."""
    dispatch_messages.enqueue()


@task()
def sweep() -> int:
    """Run the registered periodic jobs (cases' document reminders), dispatch what became due, then come back
    later. One run per period whichever worker takes it: a second chain (two workers started together) ends here."""
    from omniguichet.core.workers import claim_slot

    if not claim_slot("outreach.sweep", getattr(settings, "OUTREACH_SWEEP_SECONDS", 30)):
        return 0
    try:
        reminded = services.run_periodic_jobs()
        sent = services.drain().sent
    finally:
        _enqueue_sweep()
    return sent + reminded


def _enqueue_sweep() -> None:
    delay = dt.timedelta(seconds=getattr(settings, "OUTREACH_SWEEP_SECONDS", 30))
    sweep.using(run_after=timezone.now() + delay).enqueue()


def _sweep_waiting() -> bool:
    """Whether a sweep is already queued (database backend only; other backends always start one)."""
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # pragma: no cover - another backend
        return False
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return False
    from django_tasks.base import TaskResultStatus

    return DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=sweep.module_path).exists()


def start_sweeping() -> None:
    """On worker start: dispatch now (messages a killed worker left claimed come back when their lease ends)
    and make sure one sweep chain runs."""
    dispatch_messages.enqueue()
    if not _sweep_waiting():
        _enqueue_sweep()
