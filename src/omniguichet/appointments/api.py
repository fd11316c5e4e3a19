"""Appointment endpoints: sites and motives, free slots, booking (the person for themselves, an agent on a
person's behalf), cancel, reschedule, .ics, the waiting list."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment, AppointmentMotive, Site, WaitingListEntry
from omniguichet.core.actors import Actor, ActorKind, Channel, insured_actor, staff_actor
from omniguichet.core.api import ErrorOut

router = Router(tags=["appointments"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_ID = 2**63 - 1
Id = Field(..., ge=1, le=MAX_ID)


def _actor(request: HttpRequest) -> Actor:
    """An insured person with an online account acts for themselves; staff act on a person's behalf."""
    if getattr(request.user, "account", None) is not None:
        return insured_actor(request.user)  # type: ignore[arg-type]
    return staff_actor(request.user)  # type: ignore[arg-type]


def _channel(actor: Actor, asked: str | None) -> str:
    """Insured persons use the API through the mobile app; agents book by phone (default) or at the desk."""
    if actor.kind == ActorKind.INSURED:
        return Channel.APP
    return asked or Channel.PHONE


class SiteOut(Schema):
    id: int
    caisse: str
    name: str
    address: str
    slot_minutes: int

    @staticmethod
    def of(site: Site) -> SiteOut:
        address = " ".join(filter(None, [site.address_line, site.postcode, site.city]))
        return SiteOut(
            id=site.pk, caisse=site.caisse_id, name=site.name, address=address, slot_minutes=site.slot_minutes
        )


class AppointmentMotiveOut(Schema):
    code: str
    label: str
    mode: str
    duration_minutes: int
    min_delay_hours: int
    max_delay_days: int
    documents_to_bring: str
    deposit_types: list[str]


class SlotOut(Schema):
    site: int
    start: dt.datetime
    end: dt.datetime


class SlotQuery(Schema):
    motive: str = Field(..., max_length=40)
    site: int | None = Field(None, ge=1, le=MAX_ID, description="one site; default: every site of the caisse")
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    person_id: int | None = Field(None, ge=1, le=MAX_ID, description="agents: the person booking")
    limit: int = Field(services.DEFAULT_SLOTS, ge=1, le=services.MAX_SLOTS)


class BookIn(Schema):
    site: int = Id
    motive: str = Field(..., max_length=40)
    start: dt.datetime = Field(
        ..., description="a slot start with its offset, e.g. 2026-03-02T09:30:00+01:00"
    )
    person_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="agents: the person the appointment is for"
    )
    channel: str | None = Field(None, description="agents: phone (default) or reception")
    phone: str = Field(
        "", max_length=20, description="phone call-backs: the number (default: the person's mobile)"
    )
    note: str = Field("", max_length=500)
    case_ref: str = Field(
        "", max_length=40, description="the reference of the person's case this appointment is about"
    )


class AppointmentOut(Schema):
    id: int
    person_id: int
    site: int
    site_name: str
    motive: str
    motive_label: str
    mode: str
    start: dt.datetime
    end: dt.datetime
    status: str
    phone: str
    checkin_code: str
    case_ref: str
    documents_to_bring: str
    video_url: str
    deposit_url: str

    @staticmethod
    def of(a: Appointment) -> AppointmentOut:
        return AppointmentOut(
            id=a.pk, person_id=a.person_id, site=a.site_id, site_name=a.site.name, motive=a.motive_id,
            motive_label=a.motive.label, mode=a.mode, start=a.start, end=a.end, status=a.status, phone=a.phone,
            checkin_code=a.checkin_code, case_ref=a.case.reference if a.case is not None else "",
            documents_to_bring=a.motive.documents_to_bring, video_url=services.video_url(a),
            deposit_url=services.deposit_url(a),
        )  # fmt: skip


class CancelIn(Schema):
    reason: str = Field("", max_length=500)
    channel: str | None = None


class RescheduleIn(Schema):
    start: dt.datetime
    channel: str | None = None


class ListQuery(Schema):
    person_id: int | None = Field(None, ge=1, le=MAX_ID, description="agents: whose appointments")
    case: str = Field("", max_length=40, description="only the appointments about this case of the person")


class WaitIn(Schema):
    site: int = Id
    motive: str = Field(..., max_length=40)
    earliest: dt.date
    latest: dt.date
    person_id: int | None = Field(None, ge=1, le=MAX_ID)
    channel: str | None = None


class WaitOut(Schema):
    id: int
    site: int
    motive: str
    earliest: dt.date
    latest: dt.date
    status: str
    offers_sent: int

    @staticmethod
    def of(e: WaitingListEntry) -> WaitOut:
        return WaitOut(
            id=e.pk, site=e.site_id, motive=e.motive_id, earliest=e.earliest, latest=e.latest, status=e.status,
            offers_sent=e.offers_sent,
        )  # fmt: skip


@router.get("/appointments/sites", response={200: list[SiteOut], **ERRORS}, summary="Sites one may book at")
def list_sites(request: HttpRequest) -> list[SiteOut]:
    actor = _actor(request)
    return [SiteOut.of(s) for s in services.visible_sites(actor=actor).order_by("name", "pk")[:200]]


@router.get(
    "/appointments/motives",
    response={200: list[AppointmentMotiveOut], **ERRORS},
    summary="Appointment motives",
)
def list_motives(request: HttpRequest) -> list[AppointmentMotive]:
    _actor(request)
    return services.active_motives()


@router.get(
    "/appointments/slots",
    response={200: list[SlotOut], **ERRORS},
    summary="The first free slots for a motive, at a site or every site of the caisse",
)
def free_slots(request: HttpRequest, query: Query[SlotQuery]) -> list[SlotOut]:
    actor = _actor(request)
    slots = services.find_free_slots(
        actor=actor, channel=_channel(actor, None), motive=query.motive, site_id=query.site,
        person_id=query.person_id, date_from=query.from_, date_to=query.to, limit=query.limit,
    )  # fmt: skip
    return [SlotOut(site=s.site_id, start=s.start, end=s.end) for s in slots]


@router.post("/appointments", response={201: AppointmentOut, **ERRORS}, summary="Book an appointment")
def book(request: HttpRequest, payload: BookIn) -> Status[AppointmentOut]:
    actor = _actor(request)
    appointment = services.book(
        actor=actor, channel=_channel(actor, payload.channel), site_id=payload.site, motive=payload.motive,
        start=payload.start, person_id=payload.person_id, phone=payload.phone, note=payload.note,
        case_ref=payload.case_ref,
    )  # fmt: skip
    return Status(201, AppointmentOut.of(appointment))


@router.post(
    "/appointments/waiting-list",
    response={201: WaitOut, **ERRORS},
    summary="Wait for a freed slot between two dates (offers are capped per person)",
)
def join_waiting_list(request: HttpRequest, payload: WaitIn) -> Status[WaitOut]:
    actor = _actor(request)
    entry = services.join_waiting_list(
        actor=actor, channel=_channel(actor, payload.channel), site_id=payload.site, motive=payload.motive,
        earliest=payload.earliest, latest=payload.latest, person_id=payload.person_id,
    )  # fmt: skip
    return Status(201, WaitOut.of(entry))


@router.get(
    "/appointments",
    response={200: list[AppointmentOut], **ERRORS},
    summary="Upcoming appointments (with `case`: every appointment about that case, latest first)",
)
def list_appointments(request: HttpRequest, query: Query[ListQuery]) -> list[AppointmentOut]:
    actor = _actor(request)
    appointments = services.list_appointments(
        actor=actor, person_id=query.person_id, case_ref=query.case, upcoming=not query.case
    )
    return [AppointmentOut.of(a) for a in appointments]


@router.get(
    "/appointments/{appointment_id}", response={200: AppointmentOut, **ERRORS}, summary="An appointment"
)
def get_appointment(request: HttpRequest, appointment_id: int = Path(..., ge=1, le=MAX_ID)) -> AppointmentOut:
    return AppointmentOut.of(services.get_appointment(actor=_actor(request), appointment_id=appointment_id))


@router.get(
    "/appointments/{appointment_id}/ics",
    response={200: None, **ERRORS},
    summary="The appointment as an iCalendar file",
    openapi_extra={"responses": {"200": {"description": "text/calendar", "content": {"text/calendar": {}}}}},
)
def appointment_ics(request: HttpRequest, appointment_id: int = Path(..., ge=1, le=MAX_ID)) -> HttpResponse:
    appointment = services.get_appointment(actor=_actor(request), appointment_id=appointment_id)
    response = HttpResponse(services.ics(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rendez-vous-{appointment.pk}.ics"'
    return response


@router.post(
    "/appointments/{appointment_id}/cancel", response={200: AppointmentOut, **ERRORS}, summary="Cancel"
)
def cancel(
    request: HttpRequest, payload: CancelIn, appointment_id: int = Path(..., ge=1, le=MAX_ID)
) -> AppointmentOut:
    actor = _actor(request)
    appointment = services.cancel(
        actor=actor,
        channel=_channel(actor, payload.channel),
        appointment_id=appointment_id,
        reason=payload.reason,
    )
    return AppointmentOut.of(appointment)


@router.post(
    "/appointments/{appointment_id}/reschedule",
    response={200: AppointmentOut, **ERRORS},
    summary="Move to another start (the old slot is kept if the new one is taken)",
)
def reschedule(
    request: HttpRequest, payload: RescheduleIn, appointment_id: int = Path(..., ge=1, le=MAX_ID)
) -> AppointmentOut:
    actor = _actor(request)
    appointment = services.reschedule(
        actor=actor,
        channel=_channel(actor, payload.channel),
        appointment_id=appointment_id,
        start=payload.start,
    )
    return AppointmentOut.of(appointment)
