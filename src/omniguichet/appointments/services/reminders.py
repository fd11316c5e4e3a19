"""Messages to the person through the outbound ledger: confirmation, reminder, changes; and missed appointments."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    Appointment,
    Mode,
    Status,
)
from omniguichet.appointments.services.common import PARIS, _label
from omniguichet.appointments.services.links import manage_token, public_url, video_url
from omniguichet.appointments.services.record import deposit_url
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import NotFound
from omniguichet.crm.models import Outcome, SubjectKind
from omniguichet.crm.services import record_contact
from omniguichet.referential.models import Person

# SMS and e-mail, as the person's contact points, preferences and consents allow; the account inbox when they
# have neither (outreach chooses the channels and keeps the quiet hours and the SMS cap).
MESSAGE_POLICY = "sms+email>inbox"


def _literal(text: str) -> str:
    """A text the ledger's template renderer leaves as it is (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def notify(
    *, person: Person, key: str, sms: str, subject: str, body: str, motive: str, subject_kind: str = "",
    subject_ref: str | int = "",
) -> int:  # fmt: skip
    """THE one way this app sends something to a person: a thin call to the outbound message ledger
    (`outreach.services.send_to_person`), to be called after commit. `key` is the idempotency key (the same key
    twice sends nothing more). Returns how many messages the ledger holds for that key."""
    from omniguichet.outreach.services import SMS_MAX, send_to_person

    if len(sms) > SMS_MAX:
        sms = sms[: SMS_MAX - 1] + "…"
    messages = send_to_person(
        actor=Actor.system("appointments"), person=person, idempotency_key=key, subject=_literal(subject[:200]),
        body=_literal(body), sms_body=_literal(sms), channel_policy=MESSAGE_POLICY, subject_kind=subject_kind,
        subject_ref=str(subject_ref), motive=motive,
    )  # fmt: skip
    return len(messages)


def manage_url(appointment: Appointment) -> str:
    return public_url(f"/rendez-vous/gerer/{manage_token(appointment)}/")


def send_confirmation(appointment_id: int, *, kind: str) -> int:
    """The confirmation (also after a move), the reminder or the cancellation of an appointment: SMS and
    e-mail with the QR code link, the signed link to change or cancel it and the signed link to its .ics."""
    appointment = Appointment.objects.select_related("motive", "site", "person").get(pk=appointment_id)
    when = f"{appointment.start.astimezone(PARIS):%d/%m/%Y %H:%M}"
    manage = manage_url(appointment)
    qr = public_url(f"/rendez-vous/qr/{appointment.checkin_code}/")
    where = _("by phone") if appointment.mode == Mode.PHONE else appointment.site.name
    if appointment.mode == Mode.VIDEO:
        where = _("by video: %(link)s") % {"link": video_url(appointment)}
    values = {"when": when, "where": where, "motive": appointment.motive.label, "manage": manage, "qr": qr,
              "code": appointment.checkin_code, "ics": manage + "ics"}  # fmt: skip
    desk = appointment.mode == Mode.DESK  # only desk appointments have a kiosk check-in code to show
    if kind == "cancellation":
        sms = _("Assurance Maladie: your appointment of %(when)s is cancelled.") % values
        subject = _("Appointment cancelled")
        body = sms
    elif kind == "reminder":
        if desk:
            text = _(
                "Assurance Maladie reminder: appointment on %(when)s, %(where)s. "
                "Your code: %(qr)s — change it: %(manage)s"
            )
        else:
            text = _("Assurance Maladie reminder: appointment on %(when)s, %(where)s. Change it: %(manage)s")
        sms = body = text % values
        subject = _("Reminder: your appointment on %(when)s") % values
    else:
        if desk:
            text = _(
                "Assurance Maladie: appointment on %(when)s, %(where)s (%(motive)s). "
                "Show this code at the kiosk: %(qr)s — change or cancel: %(manage)s"
            )
        else:
            text = _(
                "Assurance Maladie: appointment on %(when)s, %(where)s (%(motive)s). Change or cancel: %(manage)s"
            )
        sms = text % values
        subject = _("Your appointment on %(when)s") % values
        lines = [_("Your appointment (%(motive)s) is booked on %(when)s, %(where)s.") % values]
        if desk:
            lines.append(_("Check-in code: %(code)s (QR code: %(qr)s).") % values)
        lines.append(_("To change or cancel it: %(manage)s") % values)
        lines.append(_("To add it to your calendar (.ics): %(ics)s") % values)
        if appointment.motive.documents_to_bring:
            lines.append("")
            lines.append(_("Documents to bring: %(docs)s") % {"docs": appointment.motive.documents_to_bring})
        if deposit_url(appointment):
            lines.append(
                _("You can deposit them beforehand in your account: %(link)s")
                % {"link": deposit_url(appointment)}
            )
        body = "\n".join(lines)
    return notify(
        person=appointment.person, key=f"appointment:{appointment.pk}:{kind}", sms=sms, subject=subject,
        body=body, motive=appointment.motive.contact_motive_id, subject_kind=SubjectKind.APPOINTMENT,
        subject_ref=appointment.pk,
    )  # fmt: skip


def send_reminder_now(appointment_id: int, start_iso: str) -> bool:
    """The reminder 48 h before; sent once, and only if the appointment is still booked at that time."""
    with transaction.atomic():
        updated = Appointment.objects.filter(
            pk=appointment_id, status=Status.BOOKED, start=dt.datetime.fromisoformat(start_iso),
            reminder_sent_at__isnull=True,
        ).update(reminder_sent_at=timezone.now())  # fmt: skip
    if updated:
        send_confirmation(appointment_id, kind="reminder")
    return bool(updated)


# The channel a missed appointment is recorded on: where it should have happened.
MODE_CHANNEL: dict[str, str] = {
    Mode.DESK: Channel.RECEPTION,
    Mode.PHONE: Channel.PHONE,
    Mode.VIDEO: Channel.WEB,
}


def missed_after() -> dt.timedelta:
    return dt.timedelta(minutes=settings.APPOINTMENTS_MISSED_AFTER_MINUTES)


def mark_missed(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Mark missed the appointments still booked whose end passed more than APPOINTMENTS_MISSED_AFTER_MINUTES
    ago without an outcome: no visit closed (a person checked in and waiting or at a desk is not missed), no
    call-back outcome (a call-back still to try again is not missed). Each is recorded as a contact about the
    appointment (outcome pending, on the channel where it should have happened, by the system). Idempotent: an
    appointment is marked (and recorded) once; a replay does nothing. Returns how many were marked."""
    now = now or timezone.now()
    cutoff = now - missed_after()
    system = Actor.system("appointments")
    marked = 0
    while True:
        with transaction.atomic():
            due = list(
                Appointment.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Status.BOOKED, end__lt=cutoff)
                .filter(Q(retry_after__isnull=True) | Q(retry_after__lt=cutoff))
                .exclude(ticket__status__in=["waiting", "called"])
                .select_related("person", "motive", "site")
                .order_by("end", "pk")[:batch]
            )
            if not due:
                break
            Appointment.objects.filter(pk__in=[a.pk for a in due], status=Status.BOOKED).update(
                status=Status.MISSED
            )
            for appointment in due:
                record_contact(
                    actor=system, channel=MODE_CHANNEL[appointment.mode], person=appointment.person,
                    motive=appointment.motive.contact_motive_id, outcome=Outcome.PENDING, started_at=appointment.end,
                    note=_("Appointment missed: %(label)s (%(mode)s)")
                    % {"label": _label(appointment), "mode": appointment.get_mode_display()},
                    subject_kind=SubjectKind.APPOINTMENT, subject_ref=appointment.pk,
                )  # fmt: skip
        marked += len(due)
        if len(due) < batch:
            break
    return marked


def video_room(room: str) -> Appointment:
    """The appointment of a video room (the link in its confirmation); NotFound for any other string."""
    appointment = (
        Appointment.objects.select_related("motive", "site", "case")
        .filter(video_room=room[:40], mode=Mode.VIDEO)
        .exclude(video_room="")
        .first()
    )
    if appointment is None:
        raise NotFound(_("no such video appointment"))
    return appointment
