"""The calendar file of an appointment (RFC 5545): folded lines, escaped text, UTC times, cancelled status."""

import datetime as dt

from django.test import Client

from omniguichet.appointments import services
from omniguichet.appointments.models import AppointmentMotive
from omniguichet.core.actors import Channel
from tests.appointments.conftest import at, next_workday


def _unfold(text: str) -> dict[str, str]:
    """Content lines unfolded (CRLF + one space continues a line), by property name."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    physical = text[:-2].split("\r\n")
    assert all(len(line.encode()) <= 75 for line in physical)  # RFC 5545 3.1: at most 75 octets a line
    logical: list[str] = []
    for line in physical:
        if line.startswith(" "):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return {line.split(":", 1)[0]: line.split(":", 1)[1] for line in logical}


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            out.append("\n" if value[i + 1] in "nN" else value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def test_the_ics_is_valid_icalendar_and_follows_cancellation(insured, site_paris):
    _person, actor = insured
    motive = AppointmentMotive.objects.get(pk="ij_dossier")
    motive.label = "Indemnités journalières ; arrêt, reprise\\temps partiel"
    motive.documents_to_bring = (
        "Arrêts de travail, bulletins de salaire.\n" + "Attestation de l'employeur. " * 6
    )
    motive.save()
    day = next_workday()
    appointment = services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive=motive.pk,
                                start=at(day, 9))  # fmt: skip
    text = Client().get(f"/rendez-vous/gerer/{services.manage_token(appointment)}/ics").content.decode()
    props = _unfold(text)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert props["VERSION"] == "2.0" and props["METHOD"] == "PUBLISH"
    assert props["UID"] == f"appointment-{appointment.pk}@omniguichet"
    start = dt.datetime.strptime(props["DTSTART"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    end = dt.datetime.strptime(props["DTEND"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    assert (start, end - start) == (at(day, 9), dt.timedelta(minutes=30))
    assert _unescape(props["SUMMARY"]).endswith(motive.label)
    description = _unescape(props["DESCRIPTION"])
    assert appointment.checkin_code in description and motive.documents_to_bring in description
    assert "Accueil Paris 11e" in _unescape(props["LOCATION"])
    assert props["STATUS"] == "CONFIRMED"
    services.cancel(actor=actor, channel=Channel.WEB, appointment_id=appointment.pk)
    again = Client().get(f"/rendez-vous/gerer/{services.manage_token(appointment)}/ics").content.decode()
    assert _unfold(again)["STATUS"] == "CANCELLED"
