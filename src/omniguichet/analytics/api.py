"""Analytics endpoints: the national role triggers a warehouse export and reads its status."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniguichet.analytics import services
from omniguichet.analytics.models import ExportRun
from omniguichet.core.actors import Channel, staff_actor
from omniguichet.core.api import ErrorOut

router = Router(tags=["analytics"])
ERRORS = {401: ErrorOut, 403: ErrorOut}


class ExportRunOut(Schema):
    id: int
    trigger: str = Field(..., description="api (requested), schedule or command (the command line)")
    status: str = Field(..., description="queued, running, done or failed")
    requested_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    contacts: int = Field(..., description="contacts written for the first time")
    changed: int = Field(..., description="contacts changed or deleted after their export, rewritten")
    parts: int = Field(..., description="part files written")
    persons: int | None = Field(..., description="persons written (null: none changed)")
    high_water: int = Field(..., description="highest contact id in the warehouse")
    floor: int = Field(..., description="every contact id up to this one is final in the warehouse")
    error: str


def _out(run: ExportRun) -> ExportRunOut:
    return ExportRunOut(
        id=run.pk, trigger=run.trigger, status=run.status, requested_at=run.requested_at,
        started_at=run.started_at, finished_at=run.finished_at, contacts=run.contacts, changed=run.changed,
        parts=run.parts, persons=run.persons, high_water=run.high_water, floor=run.floor, error=run.error,
    )  # fmt: skip


@router.post(
    "/analytics/exports",
    response={202: ExportRunOut, **ERRORS},
    summary="Queue a warehouse export (national role); a run already waiting is returned instead",
)
def request_export(request: HttpRequest) -> Status:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    run, _created = services.request_export(actor=actor, channel=Channel.BACKOFFICE)
    return Status(202, _out(run))


@router.get(
    "/analytics/exports",
    response={200: list[ExportRunOut], **ERRORS},
    summary="The latest warehouse exports, newest first (national role)",
)
def recent_exports(request: HttpRequest) -> list[ExportRunOut]:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    return [_out(run) for run in services.recent_exports(actor=actor, channel=Channel.BACKOFFICE)]


@router.get(
    "/analytics/exports/{run_id}",
    response={200: ExportRunOut, 404: ErrorOut, 422: ErrorOut, **ERRORS},
    summary="One warehouse export's status and what it wrote (national role)",
)
def export_status(request: HttpRequest, run_id: int) -> ExportRunOut:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    return _out(services.export_run(actor=actor, channel=Channel.BACKOFFICE, run_id=run_id))
