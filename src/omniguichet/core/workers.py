"""Task workers on several processes or machines (database queue): leases with a heartbeat, so that a task whose
worker was killed runs again, and periodic tasks that run once per period whichever worker takes them.

- Each `omniguichet worker` renews its lease (`core.WorkerHeartbeat`) every WORKER_HEARTBEAT_SECONDS from a thread
  of its own. The same thread puts back in the queue every task still "running" on a worker whose lease is older
  than WORKER_LEASE_SECONDS (SIGKILL, out of memory, machine lost): another worker runs it again. Tasks must
  therefore be safe to run twice (ours are: the ledger claims messages with leases of its own, sweeps and exports
  are idempotent).
- A periodic task calls `claim_slot(name, period)` first: one row per (task, period number), unique in the
  database. A second chain of the same task (two workers started together) loses the slot and ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def claim_slot(name: str, period_seconds: float, *, now: dt.datetime | None = None) -> bool:
    """Whether this run is the first of `name` in the current period (and so must do the work)."""
    from omniguichet.core.models import ScheduleSlot

    now = now or timezone.now()
    slot = int(now.timestamp() // max(period_seconds, 1))
    try:
        with transaction.atomic():
            ScheduleSlot.objects.create(name=name, slot=slot)
    except IntegrityError:
        log.info("periodic task %s: period %s already run by another worker", name, slot)
        return False
    ScheduleSlot.objects.filter(claimed_at__lt=now - dt.timedelta(days=1)).delete()
    return True


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def beat(worker_id: str, *, now: dt.datetime | None = None) -> None:
    from omniguichet.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": socket.gethostname()[:255], "pid": os.getpid(), "beat_at": now or timezone.now()},
    )


def requeue_abandoned(*, now: dt.datetime | None = None) -> int:
    """Put back in the queue the tasks running on workers whose lease ran out; returns how many."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from omniguichet.core.models import WorkerHeartbeat

    now = now or timezone.now()
    lease = dt.timedelta(seconds=settings.WORKER_LEASE_SECONDS)
    alive = set(WorkerHeartbeat.objects.filter(beat_at__gte=now - lease).values_list("worker_id", flat=True))
    requeued = 0
    for task_id, worker_ids, started_at in DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING
    ).values_list("id", "worker_ids", "started_at"):
        worker = worker_ids[-1] if worker_ids else ""
        if worker in alive or (started_at and now - started_at < lease):
            continue
        # Only if still running on that worker: a task that finished meanwhile keeps its result.
        requeued += DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        )
        log.warning("task %s: worker %s lost its lease, the task is queued again", task_id, worker or "?")
    WorkerHeartbeat.objects.filter(beat_at__lt=now - 10 * lease).delete()
    return requeued


class Heartbeat(threading.Thread):
    """The worker's lease, renewed from its own thread (a long task does not stop it), and the requeue of
    abandoned tasks."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name="omniguichet-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                close_old_connections()
                beat(self.worker_id)
                requeue_abandoned()
            except Exception:  # the database away for a moment: try again at the next beat
                log.exception("worker heartbeat failed")
            finally:
                connections.close_all()
            self.stopped.wait(settings.WORKER_HEARTBEAT_SECONDS)

    def stop(self) -> None:
        self.stopped.set()
