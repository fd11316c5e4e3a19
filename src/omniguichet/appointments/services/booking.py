"""Booking, cancellation and rescheduling (the database refuses double bookings), and the waiting list that
offers a freed slot."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    Appointment,
    AppointmentMotive,
    Mode,
    Site,
    SiteClosure,
    Status,
    WaitingListEntry,
    WaitStatus,
)
from omniguichet.appointments.services.common import (
    BOOKING_CHANNELS,
    OFFER_SALT,
    PARIS,
    REMINDER_BEFORE,
    _label,
    _local,
    _motive,
    _person_for,
    _site,
    case_of,
)
from omniguichet.appointments.services.links import _int, _unsign, link_actor, public_url
from omniguichet.appointments.services.reminders import notify, send_confirmation
from omniguichet.appointments.services.slots import Schedule, _booking_bounds
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.apps import TaskHook
from omniguichet.core.errors import Conflict, InvalidInput, NotFound
from omniguichet.crm.models import SubjectKind
from omniguichet.crm.services import record_contact
from omniguichet.referential import validators
from omniguichet.referential.models import ContactPoint, Person, User


def _check_channel(actor: Actor, channel: str) -> None:
    allowed = BOOKING_CHANNELS.get(actor.kind)  # type: ignore[call-overload]
    if allowed is None or channel not in allowed:
        raise InvalidInput.from_fields(
            {"channel": _("%(channel)s is not a channel to book through here") % {"channel": channel}}
        )


def _candidate_agents(site: Site, motive: AppointmentMotive, start: dt.datetime) -> list[int]:
    """Agents whose availability at the site holds the whole appointment on the site's grid; a clear refusal
    when the site is closed that day or the time is outside its hours."""
    if timezone.is_naive(start):
        raise InvalidInput.from_fields(
            {"start": _("needs a time zone offset (e.g. 2026-03-02T09:30:00+01:00)")}
        )
    local = start.astimezone(PARIS)
    day = local.date()
    if SiteClosure.objects.filter(site=site, first_day__lte=day, last_day__gte=day).exists():
        raise InvalidInput.from_fields(
            {"start": _("the site is closed on %(day)s") % {"day": day.isoformat()}}
        )
    schedule = Schedule([site.pk], day, day)
    duration = dt.timedelta(minutes=motive.duration_minutes)
    start_utc = start.astimezone(dt.UTC)
    agents = next((a for when, _ts, a in schedule.day_slots(site.pk, day, duration) if when == start_utc), [])
    if not agents:
        raise InvalidInput.from_fields(
            {"start": _("no appointment starts at that time: outside the opening hours or off the slot grid")}
        )
    # Spread bookings over the agents rather than filling the first one.
    shift = int(start.timestamp() // 60) % len(agents)
    return agents[shift:] + agents[:shift]


def _check_delays(motive: AppointmentMotive, start: dt.datetime, now: dt.datetime) -> None:
    earliest, latest = _booking_bounds(motive, now)
    if start < earliest:
        raise InvalidInput.from_fields(
            {"start": _("must be at least %(h)d hours from now") % {"h": motive.min_delay_hours}}
        )
    if start > latest:
        raise InvalidInput.from_fields(
            {"start": _("must be at most %(d)d days from now") % {"d": motive.max_delay_days}}
        )


def _callback_phone(person: Person, phone: str) -> str:
    if phone.strip():
        try:
            return validators.validate_phone_number(phone)  # a landline can be called back too
        except ValidationError as exc:
            raise InvalidInput.from_fields({"phone": " ".join(str(m) for m in exc.messages)}) from None
    known = (
        ContactPoint.objects.filter(person=person, kind="mobile")
        .order_by("-verified", "-created_at")
        .values_list("value", flat=True)
        .first()
    )
    if not known:
        raise InvalidInput.from_fields({"phone": _("a number to call back is required")})
    return known


def _lock_and_insert(
    person: Person, site: Site, motive: AppointmentMotive, start: dt.datetime, **extra: Any
) -> Appointment:
    """Book the first candidate agent still free. Each agent's row is locked while their bookings are checked
    (PostgreSQL: SELECT ... FOR UPDATE; SQLite serialises writers), and the partial unique index on
    (agent, start) refuses a second live appointment whatever happens: concurrent requests cannot double-book."""
    end = start + dt.timedelta(minutes=motive.duration_minutes)
    for agent_id in _candidate_agents(site, motive, start):
        list(User.objects.select_for_update().filter(pk=agent_id).values_list("pk", flat=True))
        overlap = Appointment.objects.filter(
            agent_id=agent_id, status=Status.BOOKED, start__lt=end, end__gt=start
        ).exists()
        if overlap:
            continue
        try:
            with transaction.atomic():
                return Appointment.objects.create(
                    person=person, caisse_id=site.caisse_id, site=site, motive=motive, agent_id=agent_id,
                    mode=motive.mode, start=start, end=end, checkin_code=new_checkin_code(), **extra,
                )  # fmt: skip
        except IntegrityError:
            continue
    raise Conflict(_("this slot has just been taken: choose another one"), fields={"start": _("taken")})


def new_checkin_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed at a kiosk
    return "".join(secrets.choice(alphabet) for _ in range(10))


@transaction.atomic
def book(
    *, actor: Actor, channel: str, site_id: int, motive: str, start: dt.datetime, person_id: int | None = None,
    phone: str = "", note: str = "", case_ref: str = "",
) -> Appointment:  # fmt: skip
    """Book an appointment: by the insured person for themselves (web, app) or by an agent for a person of
    their caisse (phone, reception). Refused clearly outside delays or hours, at another caisse's site, on a
    taken slot; nothing is written unless everything is."""
    _check_channel(actor, channel)
    person = _person_for(actor, person_id)
    site = _site(actor, site_id, person)
    appointment_motive = _motive(motive)
    fields: dict[str, str] = {}
    if len(note) > 500:
        fields["note"] = _("at most 500 characters")
    if "\x00" in note + phone:
        fields["note"] = _("contains a NUL character")
    if fields:
        raise InvalidInput.from_fields(fields)
    case = case_of(person, case_ref) if case_ref.strip() else None
    if timezone.is_naive(start):
        raise InvalidInput.from_fields(
            {"start": _("needs a time zone offset (e.g. 2026-03-02T09:30:00+01:00)")}
        )
    _check_delays(appointment_motive, start, timezone.now())
    phone = _callback_phone(person, phone) if appointment_motive.mode == Mode.PHONE else ""
    already = Appointment.objects.filter(
        person=person, motive=appointment_motive, status=Status.BOOKED, start__gte=timezone.now()
    ).first()
    if already is not None:
        raise Conflict(
            _("an appointment for this motive is already booked on %(when)s: reschedule it instead")
            % {"when": f"{already.start.astimezone(PARIS):%d/%m/%Y %H:%M}"},
            fields={"motive": _("already booked")},
        )
    appointment = _lock_and_insert(
        person, site, appointment_motive, start, booked_channel=channel,
        booked_by=actor.user if actor.kind == ActorKind.AGENT else None,
        phone=phone, note=note.strip(), case=case,
        video_room=secrets.token_urlsafe(24) if appointment_motive.mode == Mode.VIDEO else "",
    )  # fmt: skip
    if case is None:
        record_contact(
            actor=actor, channel=channel, person=person, motive=appointment_motive.contact_motive_id,
            note=_("Appointment booked: %(label)s") % {"label": _label(appointment)},
            subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
        )  # fmt: skip
    else:  # about a case: the contact's subject is the case, its note names the appointment
        record_contact(
            actor=actor, channel=channel, person=person, motive=appointment_motive.contact_motive_id,
            note=_("Appointment booked about case %(case)s: %(label)s (appointment %(id)s)")
            % {"case": case.reference, "label": _label(appointment), "id": appointment.pk},
            subject_kind=SubjectKind.CASE, subject_ref=case.reference,
        )  # fmt: skip
    _after_booking(appointment, kind="confirmation")
    return appointment


# Set by appointments.apps to the task that reminds the person before the appointment (appointments.tasks).
schedule_reminder = TaskHook("appointments: remind the person before the appointment")


def _after_booking(appointment: Appointment, *, kind: str) -> None:
    appointment_id, start = appointment.pk, appointment.start

    def later() -> None:
        send_confirmation(appointment_id, kind=kind)
        run_after = start - REMINDER_BEFORE
        if run_after > timezone.now():
            schedule_reminder(appointment_id, start, run_after)

    transaction.on_commit(later)


def _appointment_for(actor: Actor, appointment_id: int, *, lock: bool = False) -> Appointment:
    appointments = Appointment.objects.select_related("motive", "site", "person", "case")
    if lock:
        appointments = appointments.select_for_update(of=("self",))
    if actor.kind == ActorKind.INSURED:
        appointments = appointments.filter(person_id=actor.person_id or 0)
    elif not actor.sees_all_caisses:
        appointments = appointments.filter(caisse_id=actor.caisse_code or "---")
    appointment = appointments.filter(pk=appointment_id).first()
    if appointment is None:
        raise NotFound(_("no such appointment"))
    return appointment


def get_appointment(*, actor: Actor, appointment_id: int) -> Appointment:
    return _appointment_for(actor, appointment_id)


def list_appointments(
    *, actor: Actor, person_id: int | None = None, upcoming: bool = True, case_ref: str = ""
) -> list[Appointment]:
    """The person's upcoming appointments (or all, latest first); `case_ref`: only those about that case."""
    person = _person_for(actor, person_id)
    appointments = Appointment.objects.filter(person=person).select_related("motive", "site", "case")
    if case_ref:
        appointments = appointments.filter(case=case_of(person, case_ref))
    if upcoming:
        appointments = appointments.filter(status=Status.BOOKED, end__gte=timezone.now()).order_by("start")
    else:
        appointments = appointments.order_by("-start")
    return list(appointments[:50])


@transaction.atomic
def cancel(*, actor: Actor, channel: str, appointment_id: int, reason: str = "") -> Appointment:
    appointment = _appointment_for(actor, appointment_id, lock=True)
    if appointment.status != Status.BOOKED:
        raise Conflict(
            _("this appointment is not booked any more (%(s)s)") % {"s": appointment.get_status_display()}
        )
    if appointment.start <= timezone.now():
        raise Conflict(_("this appointment has already started"))
    appointment.status = Status.CANCELLED
    appointment.cancelled_at = timezone.now()
    appointment.save(update_fields=["status", "cancelled_at"])
    record_contact(
        actor=actor, channel=channel, person=appointment.person, motive=appointment.motive.contact_motive_id,
        note=_("Appointment cancelled: %(label)s") % {"label": _label(appointment)}
        + (f" — {reason[:500]}" if reason else ""),
        subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
    )  # fmt: skip
    appointment_id, site_id, motive_code, start = (
        appointment.pk,
        appointment.site_id,
        appointment.motive_id,
        appointment.start,
    )
    transaction.on_commit(lambda: send_confirmation(appointment_id, kind="cancellation"))
    transaction.on_commit(
        lambda: offer_freed_slot(
            site_id=site_id, motive=motive_code, start=start, freed_by=appointment.person_id
        )
    )
    return appointment


@transaction.atomic
def reschedule(*, actor: Actor, channel: str, appointment_id: int, start: dt.datetime) -> Appointment:
    """Move an appointment to another start at the same site: the new one is booked before the old one is
    released, in one transaction (if the new slot is taken, the old appointment stays)."""
    old = _appointment_for(actor, appointment_id, lock=True)
    if old.status != Status.BOOKED:
        raise Conflict(_("this appointment is not booked any more (%(s)s)") % {"s": old.get_status_display()})
    if timezone.is_naive(start):
        raise InvalidInput.from_fields(
            {"start": _("needs a time zone offset (e.g. 2026-03-02T09:30:00+01:00)")}
        )
    _check_delays(old.motive, start, timezone.now())
    old.status = Status.CANCELLED
    old.cancelled_at = timezone.now()
    old.save(update_fields=["status", "cancelled_at"])
    new = _lock_and_insert(
        old.person, old.site, old.motive, start, booked_channel=channel,
        booked_by=actor.user if actor.kind == ActorKind.AGENT else None,
        phone=old.phone, note=old.note, case=old.case, video_room=secrets.token_urlsafe(24) if old.video_room else "",
    )  # fmt: skip
    record_contact(
        actor=actor, channel=channel, person=old.person, motive=old.motive.contact_motive_id,
        note=_("Appointment moved from %(old)s to %(new)s")
        % {"old": _local(old.start), "new": _local(new.start)},
        subject_kind=SubjectKind.APPOINTMENT, subject_ref=new.pk,
    )  # fmt: skip
    _after_booking(new, kind="rescheduled")
    site_id, motive_code, old_start, person_id = old.site_id, old.motive_id, old.start, old.person_id
    transaction.on_commit(
        lambda: offer_freed_slot(site_id=site_id, motive=motive_code, start=old_start, freed_by=person_id)
    )
    return new


def join_waiting_list(
    *, actor: Actor, channel: str, site_id: int, motive: str, earliest: dt.date, latest: dt.date,
    person_id: int | None = None,
) -> WaitingListEntry:  # fmt: skip
    person = _person_for(actor, person_id)
    site = _site(actor, site_id, person)
    appointment_motive = _motive(motive)
    today = timezone.localdate()
    fields: dict[str, str] = {}
    if latest < earliest:
        fields["latest"] = _("must not be before earliest")
    if latest < today:
        fields["latest"] = _("is in the past")
    if latest > today + dt.timedelta(days=appointment_motive.max_delay_days):
        fields["latest"] = _("must be at most %(d)d days from now") % {"d": appointment_motive.max_delay_days}
    if fields:
        raise InvalidInput.from_fields(fields)
    try:
        with transaction.atomic():
            return WaitingListEntry.objects.create(
                person=person,
                site=site,
                motive=appointment_motive,
                earliest=max(earliest, today),
                latest=latest,
            )
    except IntegrityError:
        raise Conflict(_("already on the waiting list for this motive at this site")) from None


def offer_token(entry: WaitingListEntry, start: dt.datetime) -> str:
    return signing.dumps({"w": entry.pk, "s": start.isoformat()}, salt=OFFER_SALT, compress=True)


def offer_freed_slot(
    *, site_id: int, motive: str, start: dt.datetime, freed_by: int | None = None
) -> WaitingListEntry | None:
    """Offer a freed slot to the longest-waiting person whose window holds it and who has not reached the cap
    of offers (APPOINTMENTS_MAX_OFFERS); the first to use the link books it."""
    if start <= timezone.now():
        return None
    day = start.astimezone(PARIS).date()
    cap = settings.APPOINTMENTS_MAX_OFFERS
    # The cap is per person: the offers of all their live waiting-list entries (several sites or motives) count.
    offers_to_person = (
        WaitingListEntry.objects.filter(person_id=OuterRef("person_id"), status=WaitStatus.WAITING)
        .values("person_id")
        .annotate(total=Sum("offers_sent"))
        .values("total")
    )
    with transaction.atomic():
        entry = (
            WaitingListEntry.objects.select_for_update(of=("self",))
            .select_related("person", "site", "motive")
            .filter(
                site_id=site_id, motive_id=motive, status=WaitStatus.WAITING, earliest__lte=day, latest__gte=day,
                offers_sent__lt=cap,
            )
            .alias(offers_to_person=Subquery(offers_to_person))
            .filter(offers_to_person__lt=cap)
            .exclude(person_id=freed_by or 0)
            .order_by("created_at", "pk")
            .first()
        )  # fmt: skip
        if entry is None:
            return None
        entry.offers_sent += 1
        entry.save(update_fields=["offers_sent"])
    link = public_url(f"/rendez-vous/offre/{offer_token(entry, start)}/")
    when = f"{start.astimezone(PARIS):%d/%m/%Y %H:%M}"
    notify(
        person=entry.person,
        key=f"offer:{entry.pk}:{start.isoformat()}",
        motive=entry.motive.contact_motive_id,
        sms=_("Assurance Maladie: a slot is free on %(when)s. Book it: %(link)s")
        % {"when": when, "link": link},
        subject=_("A slot is free on %(when)s") % {"when": when},
        body=_("A slot has been freed on %(when)s at %(site)s. The first to book it gets it: %(link)s")
        % {"when": when, "site": entry.site.name, "link": link},
    )
    return entry


def offer_from_link(token: str) -> tuple[WaitingListEntry, dt.datetime]:
    """The waiting-list entry and the freed start an offer link was made for. A forged, altered or expired link:
    InvalidInput (nothing to show); an offer already used or since closed: Conflict."""
    data = _unsign(token, OFFER_SALT, dt.timedelta(hours=settings.APPOINTMENTS_OFFER_HOURS))
    entry = WaitingListEntry.objects.select_related("motive", "site").filter(pk=_int(data.get("w"))).first()
    start = None
    with contextlib.suppress(ValueError):
        start = dt.datetime.fromisoformat(str(data.get("s")))
    if entry is None or start is None or timezone.is_naive(start):
        raise InvalidInput.from_fields({"token": _("this link is not valid")})
    if entry.status != WaitStatus.WAITING:
        raise Conflict(_("this offer is no longer valid"))
    return entry, start


def accept_offer(*, token: str) -> Appointment:
    entry, start = offer_from_link(token)
    actor = link_actor(entry.person_id)
    with transaction.atomic():
        later = Appointment.objects.filter(
            person_id=entry.person_id, motive=entry.motive, status=Status.BOOKED, start__gt=start
        ).values_list("pk", flat=True)
        for appointment_id in list(later):  # the later one gives way (a contact; its slot offered in turn)
            cancel(actor=actor, channel=Channel.WEB, appointment_id=appointment_id, reason=_("moved earlier"))
        appointment = book(
            actor=actor, channel=Channel.WEB, site_id=entry.site_id, motive=entry.motive_id, start=start
        )
        WaitingListEntry.objects.filter(pk=entry.pk).update(status=WaitStatus.BOOKED)
    return appointment
