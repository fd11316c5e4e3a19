"""Appointments in the customer record, and the documents to deposit before an appointment (deposit purpose
"appointment")."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    Appointment,
    Status,
)
from omniguichet.appointments.services.common import PARIS, _local
from omniguichet.appointments.services.links import public_url, video_url
from omniguichet.core.db import PreparedQuery
from omniguichet.core.errors import NotFound
from omniguichet.crm.services import RecordItem
from omniguichet.referential.models import Person

# Part of every record opening: compiled once (core.db.PreparedQuery).
_NEXT_APPOINTMENTS = PreparedQuery(
    lambda *, person_id, now: (
        Appointment.objects.filter(person_id=person_id, status=Status.BOOKED, end__gte=now)
        .select_related("motive", "site", "case")
        .order_by("start")[:5]
    )
)


def next_appointments_section(person: Person) -> list[RecordItem]:
    """The record's "next appointments" section: one query."""
    appointments = _NEXT_APPOINTMENTS(person_id=person.pk, now=timezone.now())
    return [
        RecordItem(
            ref=str(a.pk),
            label=f"{a.motive.label} — {a.site.name}"
            + (" — " + _("case %(ref)s") % {"ref": a.case.reference} if a.case_id else ""),  # type: ignore[union-attr]
            status=f"{a.get_mode_display()} · {a.start.astimezone(PARIS):%H:%M}",
            when=a.start,
            url=video_url(a),
        )
        for a in appointments
    ]


# The back-office processing of documents deposited for an appointment, by the contact motive of its motive.
PROCESSING_BY_CONTACT_MOTIVE = {
    "ij_suivi": "ij", "css": "c2s", "carte_vitale": "droits", "remboursement": "remboursements",
}  # fmt: skip


def deposit_url(appointment: Appointment) -> str:
    """Where the person deposits the motive's documents before the appointment ("" when there is none)."""
    if not appointment.motive.deposit_types:
        return ""
    return public_url(f"/compte/documents/depot/?kind=appointment&ref={appointment.pk}")


def resolve_deposit_purpose(person: Person, ref: str) -> Any:
    """The resolver of the deposit purpose "appointment" (registered with documents in AppConfig.ready()):
    the documents of the appointment's motive, open while the appointment is booked and not over. The
    documents are to be processed before the appointment starts. Another person's appointment is refused by
    the documents app exactly like a missing one."""
    from omniguichet.documents.services import DepositPurpose

    if not ref.isdigit() or len(ref) > 18:
        raise NotFound(_("no such appointment"))
    appointment = Appointment.objects.select_related("motive").filter(pk=int(ref)).first()
    if appointment is None or not appointment.motive.deposit_types:
        raise NotFound(_("no such appointment"))
    return DepositPurpose(
        label=_("Appointment of %(when)s: %(motive)s")
        % {"when": _local(appointment.start), "motive": appointment.motive.label},
        expected_types=tuple(appointment.motive.deposit_types),
        is_open=appointment.status == Status.BOOKED and appointment.end > timezone.now(),
        person_id=appointment.person_id,
        processing_hint=PROCESSING_BY_CONTACT_MOTIVE.get(appointment.motive.contact_motive_id, "general"),
        deadline=appointment.start,
    )


def list_deposit_purposes(person: Person) -> list[Any]:
    """The lister of the deposit purpose "appointment" (documents app): the person's booked appointments not yet
    over whose motive asks for documents, ONE query. Listed on the person's documents page and at the kiosk,
    like their document requests and their cases' awaited documents."""
    from omniguichet.documents.services import DepositPurpose, OpenPurpose

    now = timezone.now()
    found = []
    for appointment in (
        Appointment.objects.select_related("motive")
        .filter(person_id=person.pk, status=Status.BOOKED, end__gt=now)
        .order_by("start")
    ):
        if not appointment.motive.deposit_types:
            continue
        purpose = DepositPurpose(
            label=_("Appointment of %(when)s: %(motive)s")
            % {"when": _local(appointment.start), "motive": appointment.motive.label},
            expected_types=tuple(appointment.motive.deposit_types),
            is_open=True,
            person_id=appointment.person_id,
            processing_hint=PROCESSING_BY_CONTACT_MOTIVE.get(appointment.motive.contact_motive_id, "general"),
            deadline=appointment.start,
        )
        found.append(OpenPurpose("appointment", str(appointment.pk), purpose, appointment.created_at))
    return found
