"""Background work of the kernel: the monthly partitions of the coming months (PostgreSQL; docs/scale.md)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from omniguichet.core import partitions

log = logging.getLogger(__name__)


def _every() -> float:
    return float(getattr(settings, "PARTITIONS_AHEAD_SECONDS", 86_400))


@task()
def create_partitions_ahead() -> int:
    """Create the partitions of this month and of the PARTITIONS_MONTHS_AHEAD next ones for every partitioned
    table, then come back a day later. One run per period whichever worker takes it: a second chain ends here.
    Returns how many partitions were created."""
    from omniguichet.core.workers import claim_slot

    if not claim_slot("core.partitions_ahead", _every()):
        return 0
    try:
        report = partitions.create_months_ahead(ahead=getattr(settings, "PARTITIONS_MONTHS_AHEAD", 3))
        if report.created:
            log.info("partitions created: %s", ", ".join(report.created))
        return len(report.created)
    finally:
        _enqueue_next()


def _enqueue_next() -> None:
    create_partitions_ahead.using(run_after=timezone.now() + dt.timedelta(seconds=_every())).enqueue()


def _waiting() -> bool:
    """Whether a run is already queued (database backend only; other backends always start one)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return False
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=create_partitions_ahead.module_path
    ).exists()


def start_partitions_ahead() -> None:
    """On worker start (PostgreSQL only: SQLite has no partitions): make sure one chain of runs exists."""
    from django.db import connection

    if connection.vendor == "postgresql" and not _waiting():
        create_partitions_ahead.enqueue()
