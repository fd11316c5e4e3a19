"""The .ics calendar file of an appointment."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    Appointment,
    Mode,
    Status,
)


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold_line(line: str) -> str:
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 74:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def ics(appointment: Appointment) -> str:
    """The appointment as an iCalendar (RFC 5545) event, times in UTC."""
    stamp = "%Y%m%dT%H%M%SZ"
    where = (
        _("Phone call-back to %(phone)s") % {"phone": appointment.phone}
        if appointment.mode == Mode.PHONE
        else (
            f"{appointment.site.name}, {appointment.site.address_line} "
            f"{appointment.site.postcode} {appointment.site.city}"
        )
    )
    description = _("Check-in code: %(code)s") % {"code": appointment.checkin_code}
    if appointment.motive.documents_to_bring:
        description += "\n" + _("Documents to bring: %(docs)s") % {
            "docs": appointment.motive.documents_to_bring
        }
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//omniguichet//appointments//FR", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:appointment-{appointment.pk}@omniguichet",
        f"DTSTAMP:{appointment.created_at.astimezone(dt.UTC):{stamp}}",
        f"DTSTART:{appointment.start.astimezone(dt.UTC):{stamp}}",
        f"DTEND:{appointment.end.astimezone(dt.UTC):{stamp}}",
        f"SUMMARY:{_ics_text(_('Assurance Maladie appointment: %(m)s') % {'m': appointment.motive.label})}",
        f"LOCATION:{_ics_text(where.strip())}", f"DESCRIPTION:{_ics_text(description)}",
        "STATUS:CANCELLED" if appointment.status == Status.CANCELLED else "STATUS:CONFIRMED",
        "END:VEVENT", "END:VCALENDAR",
    ]  # fmt: skip
    return "\r\n".join(_fold_line(line) for line in lines) + "\r\n"


def ics_attachments(messages: list) -> dict[int, list[tuple[str, bytes, str]]]:
    """The .ics of each appointment e-mail (registered with outreach's e-mail provider): built when the e-mail
    leaves, so a moved or cancelled appointment sends its current state. One query."""
    ids = {int(m.subject_ref) for m in messages if m.subject_ref.isdigit()}
    appointments = Appointment.objects.select_related("site", "motive").in_bulk(ids)
    return {
        m.pk: [("rendez-vous.ics", ics(appointments[int(m.subject_ref)]).encode(), "text/calendar")]
        for m in messages
        if m.subject_ref.isdigit() and int(m.subject_ref) in appointments
    }


def qr_svg(text: str) -> str:
    import io

    import segno

    buffer = io.BytesIO()
    # A full QR code, never a Micro QR (which segno picks for short texts): kiosk and phone scanners may not read
    # Micro QR.
    segno.make(text, error="m", micro=False).save(
        buffer, kind="svg", scale=6, border=2, xmldecl=False, svgns=True
    )
    return buffer.getvalue().decode()
