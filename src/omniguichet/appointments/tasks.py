"""Background work of appointments (django_tasks, enqueued after commit), run by `omniguichet worker`."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from omniguichet.appointments import services


@task()
def send_reminder(appointment_id: int, start_iso: str) -> bool:
    """The reminder 48 h before (enqueued with run_after at booking); does nothing if the appointment was
    cancelled or moved since (a moved appointment has its own reminder)."""
    return services.send_reminder_now(appointment_id, start_iso)


@task()
def sweep_missed() -> int:
    """Mark missed the appointments whose time passed without an outcome, then come back later (one run per
    period whichever worker takes it: a second chain ends here)."""
    from omniguichet.core.workers import claim_slot

    if not claim_slot("appointments.sweep_missed", settings.APPOINTMENTS_SWEEP_SECONDS):
        return 0
    try:
        return services.mark_missed()
    finally:
        _enqueue_sweep()


def _enqueue_sweep() -> None:
    delay = dt.timedelta(seconds=settings.APPOINTMENTS_SWEEP_SECONDS)
    sweep_missed.using(run_after=timezone.now() + delay).enqueue()


def _sweep_waiting() -> bool:
    """Whether a sweep is already queued (database backend only; other backends always start one)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return False
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=sweep_missed.module_path
    ).exists()


def start_sweeping() -> None:
    """On worker start: make sure one chain of missed-appointment sweeps runs."""
    if not _sweep_waiting():
        sweep_missed.enqueue()


def schedule_reminder(appointment_id: int, start: dt.datetime, run_after: dt.datetime) -> None:
    """Set as appointments.services' reminder hook at start-up (appointments.apps)."""
    send_reminder.using(run_after=run_after).enqueue(appointment_id, start.isoformat())
