"""Background work of telephony: the retention of calls (docs/telephony.md, "Retention")."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from omniguichet.core.actors import Actor, Channel

log = logging.getLogger(__name__)


def _every() -> float:
    return float(getattr(settings, "CALLS_RETENTION_SECONDS", 86_400))


@task()
def purge_expired_calls() -> int:
    """Delete the calls started before CALLS_RETENTION_MONTHS, then come back a period later. One run per period
    whichever worker takes it: a second chain ends here. Returns how many calls left."""
    from omniguichet.core.workers import claim_slot
    from omniguichet.telephony.services.retention import purge_old_calls, retention_months

    if not claim_slot("telephony.calls_retention", _every()):
        return 0
    try:
        if retention_months() is None:
            return 0
        report = purge_old_calls(actor=Actor.system("calls retention"), channel=Channel.BACKOFFICE)
        if report.calls or report.events:
            log.info(
                "calls retention: %d calls and %d event lines deleted (%s)",
                report.calls,
                report.events,
                report.rule,
            )
        return report.calls
    finally:
        purge_expired_calls.using(run_after=timezone.now() + dt.timedelta(seconds=_every())).enqueue()


def start_calls_retention() -> None:
    """On worker start: make sure one chain of retention runs exists (a second one ends at its slot)."""
    from omniguichet.core.tasks import run_waiting

    if not run_waiting(purge_expired_calls.module_path):
        purge_expired_calls.enqueue()
