"""Phone call-backs: the agent's queue of calls to make, answered or not, closed after the attempts."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    Appointment,
    Mode,
    Status,
)
from omniguichet.appointments.services.booking import _appointment_for
from omniguichet.appointments.services.common import CALLBACK_RETRY_DELAY, MAX_CALLBACK_ATTEMPTS, _boundary
from omniguichet.appointments.services.reminders import notify
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput
from omniguichet.crm.models import Direction, Outcome, SubjectKind
from omniguichet.crm.services import record_contact


def callbacks_for_day(
    *, actor: Actor, day: dt.date | None = None, everyone: bool = False
) -> list[Appointment]:
    """Phone appointments of the day: the agent's own, or (everyone) those of the agent's caisse."""
    if actor.kind != ActorKind.AGENT or actor.user is None:
        raise Forbidden(_("reserved to staff"))
    day = day or timezone.localdate()
    low, high = _boundary(day, dt.time(0)), _boundary(day + dt.timedelta(days=1), dt.time(0))
    appointments = Appointment.objects.filter(mode=Mode.PHONE, start__gte=low, start__lt=high).exclude(
        status=Status.CANCELLED
    )
    if everyone:
        if not actor.sees_all_caisses:
            appointments = appointments.filter(caisse_id=actor.caisse_code or "---")
    else:
        appointments = appointments.filter(agent=actor.user)
    return list(appointments.select_related("person", "motive", "agent").order_by("start", "pk"))


@transaction.atomic
def record_callback(
    *, actor: Actor, appointment_id: int, answered: bool, outcome: str = Outcome.RESOLVED, note: str = ""
) -> Appointment:
    """The outcome of a call-back. Answered: a phone contact, appointment done. No answer: a phone contact
    (unanswered); the agent tries again after a delay, and after MAX_CALLBACK_ATTEMPTS the appointment is
    closed as "no answer" and the person is told by SMS/e-mail."""
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to staff"))
    appointment = _appointment_for(actor, appointment_id, lock=True)
    if appointment.mode != Mode.PHONE:
        raise InvalidInput.from_fields({"appointment": _("not a phone appointment")})
    if appointment.status != Status.BOOKED:
        raise Conflict(
            _("this call-back is already closed (%(s)s)") % {"s": appointment.get_status_display()}
        )
    if outcome not in Outcome.values:
        raise InvalidInput.from_fields(
            {"outcome": _("must be one of %(all)s") % {"all": ", ".join(Outcome.values)}}
        )
    appointment.callback_attempts += 1
    if answered:
        appointment.status = Status.DONE
        appointment.retry_after = None
    elif appointment.callback_attempts >= MAX_CALLBACK_ATTEMPTS:
        appointment.status = Status.NO_ANSWER
        appointment.retry_after = None
    else:
        appointment.retry_after = timezone.now() + CALLBACK_RETRY_DELAY
    appointment.save(update_fields=["callback_attempts", "status", "retry_after"])
    record_contact(
        actor=actor, channel=Channel.PHONE, person=appointment.person, motive=appointment.motive.contact_motive_id,
        direction=Direction.OUTBOUND, answered=answered, outcome=outcome if answered else Outcome.PENDING,
        note=note.strip()[:4000] or (_("Call-back: no answer (attempt %(n)d)") % {"n": appointment.callback_attempts}
                                     if not answered else ""),
        subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
    )  # fmt: skip
    if appointment.status == Status.NO_ANSWER:
        person, appointment_id, motive = (
            appointment.person,
            appointment.pk,
            appointment.motive.contact_motive_id,
        )
        transaction.on_commit(
            lambda: notify(
                person=person,
                key=f"appointment:{appointment_id}:no_answer",
                motive=motive,
                subject_kind=SubjectKind.APPOINTMENT,
                subject_ref=appointment_id,
                sms=_(
                    "Assurance Maladie: we tried to call you back twice without success. "
                    "Book a new appointment from your account."
                ),
                subject=_("We could not reach you"),
                body=_(
                    "We tried to call you back twice without success. You can book a new appointment from your account."
                ),
            )
        )
    return appointment
