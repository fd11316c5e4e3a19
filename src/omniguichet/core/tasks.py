"""Background work of the kernel: the monthly partitions of the coming months, and the retention of the old ones
(PostgreSQL; docs/scale.md)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from omniguichet.core import partitions
from omniguichet.core.actors import Actor, Channel

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


def run_waiting(path: str | None = None) -> bool:
    """Whether a run of the task is already queued (database backend only; other backends always start one)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return False
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=path or create_partitions_ahead.module_path
    ).exists()


def start_partitions_ahead() -> None:
    """On worker start (PostgreSQL only: SQLite has no partitions): make sure one chain of runs exists."""
    from django.db import connection

    if connection.vendor == "postgresql" and not run_waiting():
        create_partitions_ahead.enqueue()


# --- the other end: months past retention leave (core.retention) ----------------------------------------------------
def _retention_every() -> float:
    return float(getattr(settings, "PARTITIONS_RETENTION_SECONDS", 86_400))


@task()
def detach_expired_partitions() -> int:
    """Detach, then drop or archive, the months past their table's retention (PARTITIONS_RETENTION), then come back
    a day later. One run per period whichever worker takes it: a second chain ends here. Returns how many months
    left their table."""
    from omniguichet.core import retention
    from omniguichet.core.workers import claim_slot

    if not claim_slot("core.partitions_retention", _retention_every()):
        return 0
    try:
        from django.db import connection

        if connection.vendor != "postgresql" or not any(p.months for p in retention.policies().values()):
            return 0
        report = retention.apply_retention(
            actor=Actor.system("partition retention"), channel=Channel.BACKOFFICE
        )
        for step in report.kept:
            log.info("partition %s kept: %s", step.partition, step.kept)
        return len(report.left)
    finally:
        detach_expired_partitions.using(
            run_after=timezone.now() + dt.timedelta(seconds=_retention_every())
        ).enqueue()


def start_partitions_retention() -> None:
    """On worker start (PostgreSQL only): make sure one chain of retention runs exists."""
    from django.db import connection

    if connection.vendor == "postgresql" and not run_waiting(detach_expired_partitions.module_path):
        detach_expired_partitions.enqueue()
