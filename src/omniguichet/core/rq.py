"""The task queue on Redis (django-tasks' RQ backend), for workers on several machines (docs/production.md).

Imported only when OMNIGUICHET_TASK_QUEUE=redis. A job whose worker dies in its middle runs again, through RQ's
own lease: while a job runs, its worker renews the job's entry in RQ's StartedJobRegistry, and an entry left to
expire is a job RQ calls "abandoned". What is ours:

- the lease is the database queue's (`core.workers`): renewed every WORKER_HEARTBEAT_SECONDS, lost after
  WORKER_LEASE_SECONDS (RQ's own: 10 s and 70 s);
- every worker cleans the registries (and so finds abandoned jobs) every RQ_MAINTENANCE_SECONDS, idle or not (an
  idle RQ worker otherwise waits on the queue for `worker_ttl - 15` = 405 s before its next cleaning);
- an abandoned job (the worker and its work horse gone: SIGKILL, machine lost), or a job whose work horse was
  killed under a living worker (the out-of-memory killer), is queued again, at most TASK_RETRIES times (counted in
  the job's own hash), then FAILED: none stays "running" forever. A task that raises is not run again, as on the
  database queue. Tasks are safe to run twice (the ledger claims its messages with leases of its own).
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

from django.conf import settings
from django_tasks.utils import get_module_path
from rq import Worker as LibraryWorker
from rq.exceptions import AbandonedJobError
from rq.job import Job

log = logging.getLogger(__name__)

RERUNS_FIELD = "omniguichet_reruns"  # in the job's hash: how many times its worker died under it


def heartbeat_seconds() -> int:
    """RQ's monitor waits on `signal.alarm`: whole seconds."""
    return max(1, round(settings.WORKER_HEARTBEAT_SECONDS))


def lease_seconds() -> int:
    return max(math.ceil(settings.WORKER_LEASE_SECONDS), heartbeat_seconds() + 1)


def run_again(job: Job, why: str) -> bool:
    """Queue `job` again (RQ's retry path, through `retries_left`) unless its worker already died TASK_RETRIES
    times under it; returns whether it will run again."""
    reruns = int(job.connection.hincrby(job.key, RERUNS_FIELD, 1))
    if reruns > settings.TASK_RETRIES:
        log.error("task %s: %s, %s times: it is marked failed", job.id, why, reruns)
        return False
    job.retries_left, job.retry_intervals = 1, None  # RQ queues it again at once and counts retries_left down
    log.warning("task %s: %s; queued again (%s of at most %s)", job.id, why, reruns, settings.TASK_RETRIES)
    return True


def rerun_abandoned(job: Job, exc_type: type[BaseException], exc_value: Any, traceback: Any) -> bool:
    """A worker's exception handler, called by RQ's registry cleaning for each abandoned job (after the job's
    failure callback: django-tasks-rq noted the exception's class in the job's meta; a job that runs again takes
    that note back)."""
    if issubclass(exc_type, AbandonedJobError) and run_again(job, "its worker stopped renewing its lease"):
        noted = job.meta.get("_django_tasks_rq_exceptions") or []
        if noted and noted[-1] == get_module_path(AbandonedJobError):
            noted.pop()
            job.save_meta()
    return True  # let the next handler see it too


class Worker(LibraryWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", settings.RQ_MAINTENANCE_SECONDS)
        kwargs["job_monitoring_interval"] = heartbeat_seconds()
        super().__init__(*args, **kwargs)
        self.push_exc_handler(rerun_abandoned)

    @property
    def dequeue_timeout(self) -> int:
        # Wake up for the registries' cleaning even when no job comes.
        return max(1, min(super().dequeue_timeout, settings.RQ_MAINTENANCE_SECONDS))

    def get_heartbeat_ttl(self, job: Job) -> int:
        # The job's lease in the StartedJobRegistry, renewed every job_monitoring_interval while it runs.
        return lease_seconds()

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        signal_number = os.WTERMSIG(ret_val) if ret_val and os.WIFSIGNALED(ret_val) else None
        run_again(job, f"its work horse was killed (signal {signal_number}, exit {ret_val})")
