"""The task queue on Redis (django-tasks' RQ backend), for workers on several machines (docs/production.md).

Imported only when OMNIGUICHET_TASK_QUEUE=redis. Two additions to the library's own:
- every job may run again when its worker dies in its middle (RQ's abandoned-job cleanup retries a job that has
  retries left): `TASK_RETRIES`;
- the worker cleans its registries (and so finds abandoned jobs) every `RQ_MAINTENANCE_SECONDS`, not every 10
  minutes.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django_tasks_rq.backend import RQBackend as LibraryRQBackend
from rq import Worker as LibraryWorker


class RQBackend(LibraryRQBackend):
    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        result = super().enqueue(task, args, kwargs)
        job = self._get_job(result.id)
        if job is not None:
            # Set on the job's own hash: read by RQ when the job's worker is found dead.
            job.connection.hset(
                job.key, mapping={"retries_left": settings.TASK_RETRIES, "retry_intervals": json.dumps([0])}
            )
        return result


class Worker(LibraryWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", settings.RQ_MAINTENANCE_SECONDS)
        kwargs.setdefault("job_monitoring_interval", settings.RQ_JOB_MONITORING_SECONDS)
        super().__init__(*args, **kwargs)
