"""The walk-in reception queue: check-in at the kiosk, the serving order, "call next", closing the visit.

Serving order (the same for every site): tickets of appointment holders first, then persons with a priority
need (declared at the kiosk: disability, pregnancy, frailty), then every other visitor; in each group, by order
of arrival. Waiting time = called - arrived; service time = closed - called.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.appointments.models import Appointment, Site
from omniguichet.appointments.models import Status as AppointmentStatus
from omniguichet.appointments.services import day_bounds
from omniguichet.core import throttle
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniguichet.crm.models import Motive, Outcome, SubjectKind
from omniguichet.crm.services import record_contact
from omniguichet.reception.models import (
    CATEGORY_LETTERS,
    CATEGORY_RANK,
    Category,
    Ticket,
    TicketCounter,
    TicketStatus,
)
from omniguichet.referential import validators
from omniguichet.referential.models import Person

# The steering indicator: visitors received within this time.
TARGET_WAIT = dt.timedelta(minutes=20)


def kiosk_site(site_id: int) -> Site:
    site = Site.objects.filter(pk=site_id, active=True).select_related("caisse").first()
    if site is None:
        raise NotFound(_("no such site"))
    return site


def staff_site(actor: Actor, site_id: int) -> Site:
    """A site of the agent's caisse (another caisse's site is "not found")."""
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to staff"))
    site = Site.objects.filter(pk=site_id, active=True).first()
    if site is None or not (actor.sees_all_caisses or site.caisse_id == actor.caisse_code):
        raise NotFound(_("no such site"))
    return site


def staff_sites(*, actor: Actor) -> list[Site]:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to staff"))
    sites = Site.objects.filter(active=True).order_by("caisse_id", "name")
    if not actor.sees_all_caisses:
        sites = sites.filter(caisse_id=actor.caisse_code or "---")
    return list(sites[:500])


def _next_number(site: Site, day: dt.date, category: str) -> tuple[int, str]:
    counter, _created = TicketCounter.objects.select_for_update().get_or_create(site=site, day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last, f"{CATEGORY_LETTERS[category]}{counter.last:03d}"  # type: ignore[index]


def _todays_appointment(site: Site, person: Person, today: dt.date) -> Appointment | None:
    low, high = day_bounds(today)
    return (
        Appointment.objects.filter(
            person=person, site=site, status=AppointmentStatus.BOOKED, start__gte=low, start__lt=high
        )
        .select_related("motive")
        .order_by("start")
        .first()
    )


def take_ticket(
    *, site_id: int, code: str = "", nir: str = "", birth_date: dt.date | None = None, motive: str = "",
    priority: bool = False, channel: str = Channel.KIOSK, address: str = "",
) -> Ticket:  # fmt: skip
    """A ticket at the kiosk: with the check-in code of an appointment (typed or scanned from its QR code), with
    NIR and birth date, or anonymous (neither given). Scanning the same appointment twice gives the same ticket.

    Throttled (core.throttle): wrong check-in codes per address, identifications per address and per NIR (every
    one: a NIR and birth date that match nobody get an anonymous ticket, the same answer as a right pair)."""
    clean_code = "".join(code.split()).upper()[:16]
    if clean_code:
        throttle.check("kiosk.code", address)
    elif nir or birth_date:
        throttle.attempt([("kiosk.identity", address), ("kiosk.nir", "".join(nir.split()).upper())])
    try:
        return _take_ticket(
            site_id=site_id, code=clean_code, nir=nir, birth_date=birth_date, motive=motive, priority=priority
        )
    except InvalidInput as exc:
        if clean_code and "code" in exc.fields:
            throttle.hit("kiosk.code", address)
        raise


@transaction.atomic
def _take_ticket(
    *, site_id: int, code: str, nir: str, birth_date: dt.date | None, motive: str, priority: bool
) -> Ticket:
    site = kiosk_site(site_id)
    now = timezone.now()
    today = timezone.localdate(now)
    person: Person | None = None
    appointment: Appointment | None = None
    code = "".join(code.split()).upper()[:16]
    nir = "".join(nir.split()).upper()
    if code:
        appointment = Appointment.objects.select_related("motive", "person").filter(checkin_code=code).first()
        if appointment is None or appointment.caisse_id != site.caisse_id:
            raise InvalidInput.from_fields({"code": _("unknown code: check it, or take a ticket without it")})
        if appointment.status != AppointmentStatus.BOOKED:
            raise InvalidInput.from_fields(
                {"code": _("this appointment is %(s)s") % {"s": appointment.get_status_display()}}
            )
        if appointment.site_id != site.pk:
            raise InvalidInput.from_fields({"code": _("this appointment is at another site: %(site)s")
                                            % {"site": appointment.site.name}})  # fmt: skip
        if timezone.localdate(appointment.start) != today:
            raise InvalidInput.from_fields(
                {"code": _("this appointment is on %(day)s")
                 % {"day": f"{timezone.localtime(appointment.start):%d/%m/%Y %H:%M}"}}
            )  # fmt: skip
        existing = Ticket.objects.filter(appointment=appointment).first()
        if existing is not None:
            return existing
        person = appointment.person
    elif nir or birth_date:
        fields: dict[str, str] = {}
        try:
            nir = validators.validate_nir(nir)
        except ValidationError as exc:
            fields["nir"] = " ".join(str(m) for m in exc.messages)
        if birth_date is None:
            fields["birth_date"] = _("is required with the NIR")
        if fields or birth_date is None:
            raise InvalidInput.from_fields(fields)
        # No match: an anonymous ticket, like a walk-in (the desk identifies the person); the kiosk must not tell
        # a stranger whether a NIR and birth date are right.
        person = Person.objects.filter(nir=nir, birth_date=birth_date, caisse_id=site.caisse_id).first()
        appointment = _todays_appointment(site, person, today) if person is not None else None
        if appointment is not None and Ticket.objects.filter(appointment=appointment).exists():
            appointment = None  # already checked in with the code: this is another visit
    if appointment is not None:
        category, motive_code = Category.APPOINTMENT, appointment.motive.contact_motive_id
    else:
        if not Motive.objects.filter(pk=motive[:40], active=True).exists():
            raise InvalidInput.from_fields({"motive": _("choose the reason of your visit")})
        category, motive_code = (Category.PRIORITY if priority else Category.WALK_IN), motive
    sequence, number = _next_number(site, today, category)
    return Ticket.objects.create(
        site=site, day=today, sequence=sequence, number=number, category=category,
        rank=CATEGORY_RANK[category], person=person, appointment=appointment,
        motive_id=motive_code, arrived_at=now,
    )  # fmt: skip


@transaction.atomic
def call_next(*, actor: Actor, site_id: int, desk: str = "") -> Ticket | None:
    """The next ticket in serving order, for this agent; None when nobody waits. Two agents calling at the same
    time never get the same ticket (the row is locked; PostgreSQL skips a row another agent is taking)."""
    site = staff_site(actor, site_id)
    current = Ticket.objects.filter(site=site, called_by=actor.user, status=TicketStatus.CALLED).first()
    if current is not None:
        raise Conflict(_("close ticket %(n)s first") % {"n": current.number})
    ticket = (
        Ticket.objects.select_for_update(skip_locked=True)
        .filter(site=site, status=TicketStatus.WAITING)
        .order_by("rank", "arrived_at", "pk")
        .first()
    )
    if ticket is None:
        return None
    ticket.status = TicketStatus.CALLED
    ticket.called_at = timezone.now()
    ticket.called_by = actor.user
    # The waiting-room screen shows the desk: a neutral label when none is given, never the agent's login.
    ticket.desk = (desk.strip() or _("Desk"))[:20]
    ticket.save(update_fields=["status", "called_at", "called_by", "desk"])
    return ticket


def _staff_ticket(actor: Actor, ticket_id: int) -> Ticket:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to staff"))
    tickets = Ticket.objects.select_for_update().select_related("site")
    if not actor.sees_all_caisses:
        tickets = tickets.filter(site__caisse_id=actor.caisse_code or "---")
    ticket = tickets.filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(_("no such ticket"))
    return ticket


def ticket_for_desk(*, actor: Actor, ticket_id: int) -> Ticket:
    """A ticket of the agent's caisse, as `close_visit` finds it (to draw again the desk it was called at)."""
    with transaction.atomic():
        return _staff_ticket(actor, ticket_id)


@transaction.atomic
def close_visit(
    *, actor: Actor, ticket_id: int, outcome: str = Outcome.RESOLVED, motive: str = "", note: str = "",
    person_id: int | None = None,
) -> Ticket:  # fmt: skip
    """Close a visit with its outcome. With a known person (identified at the kiosk, or at the desk for a
    walk-in: person_id), a reception contact is recorded with on_appointment and waited_seconds."""
    ticket = _staff_ticket(actor, ticket_id)
    if ticket.status != TicketStatus.CALLED:
        raise Conflict(
            _("ticket %(n)s is not at a desk (%(s)s)")
            % {"n": ticket.number, "s": ticket.get_status_display()}
        )
    if outcome not in Outcome.values:
        raise InvalidInput.from_fields(
            {"outcome": _("must be one of %(all)s") % {"all": ", ".join(Outcome.values)}}
        )
    if ticket.person_id is None and person_id:
        from omniguichet.core.actors import scope_to_caisse

        person = scope_to_caisse(Person.objects.all(), actor).filter(pk=person_id).first()
        if person is None:
            raise NotFound(_("no such person"))
        ticket.person = person
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = timezone.now()
    ticket.outcome = outcome
    if ticket.person is not None:
        assert ticket.called_at is not None
        contact = record_contact(
            actor=actor, channel=Channel.RECEPTION, person=ticket.person, motive=motive or ticket.motive_id,
            started_at=ticket.called_at, outcome=outcome, note=note[:4000],
            on_appointment=ticket.appointment_id is not None, waited_seconds=ticket.waited_seconds,
            subject_kind=SubjectKind.TICKET, subject_ref=ticket.pk,
        )  # fmt: skip
        ticket.contact_id = contact.pk
    ticket.save(update_fields=["status", "closed_at", "outcome", "person", "contact_id"])
    if ticket.appointment_id is not None:
        Appointment.objects.filter(pk=ticket.appointment_id, status=AppointmentStatus.BOOKED).update(
            status=AppointmentStatus.DONE
        )
    return ticket


def visit_in_progress(*, actor: Actor, person_id: int) -> Ticket | None:
    """The person's ticket this agent has called and not closed yet (shown on the person's record, to close the
    visit there): one query."""
    if actor.kind != ActorKind.AGENT or actor.user is None:
        return None
    return (
        Ticket.objects.filter(called_by=actor.user, status=TicketStatus.CALLED, person_id=person_id)
        .select_related("site", "motive")
        .order_by("-called_at")
        .first()
    )


@transaction.atomic
def mark_left(*, actor: Actor, ticket_id: int) -> Ticket:
    """The visitor called did not come to the desk (or left): the ticket is closed without a contact."""
    ticket = _staff_ticket(actor, ticket_id)
    if ticket.status not in (TicketStatus.WAITING, TicketStatus.CALLED):
        raise Conflict(_("ticket %(n)s is already closed") % {"n": ticket.number})
    ticket.status = TicketStatus.LEFT
    ticket.called_at = ticket.called_at or timezone.now()
    ticket.closed_at = timezone.now()
    ticket.save(update_fields=["status", "called_at", "closed_at"])
    return ticket


@dataclass
class Board:
    """What the waiting-room screen shows: numbers and desks, never names."""

    called: list[tuple[str, str]]
    waiting: int


def display_board(*, site_id: int) -> Board:
    site = kiosk_site(site_id)
    today = timezone.localdate()
    called = list(
        Ticket.objects.filter(site=site, day=today, called_at__isnull=False)
        .exclude(status=TicketStatus.LEFT)
        .order_by("-called_at")
        .values_list("number", "desk")[:6]
    )
    waiting = Ticket.objects.filter(site=site, day=today, status=TicketStatus.WAITING).count()
    return Board(called=called, waiting=waiting)


@dataclass
class DeskState:
    site: Site
    current: Ticket | None
    waiting: list[Ticket]
    served_today: int
    within_target: int


def desk_state(*, actor: Actor, site_id: int) -> DeskState:
    site = staff_site(actor, site_id)
    today = timezone.localdate()
    current = (
        Ticket.objects.filter(site=site, called_by=actor.user, status=TicketStatus.CALLED)
        .select_related("person", "motive", "appointment")
        .first()
    )
    waiting = list(
        Ticket.objects.filter(site=site, status=TicketStatus.WAITING)
        .select_related("motive")
        .order_by("rank", "arrived_at", "pk")[:50]
    )
    served: list[tuple[dt.datetime, dt.datetime]] = list(
        Ticket.objects.filter(site=site, day=today, called_at__isnull=False)
        .exclude(status=TicketStatus.LEFT)
        .values_list("arrived_at", "called_at")  # type: ignore[arg-type]
    )
    within = len([1 for arrived, called in served if called - arrived <= TARGET_WAIT])
    return DeskState(
        site=site, current=current, waiting=waiting, served_today=len(served), within_target=within
    )
