"""The appointment pages' forms (django-dsfr): a refused value is announced under its field, with the message
the model field gives (the admin's), and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from omniguichet.appointments.models import Appointment, WaitingListEntry
from omniguichet.crm.models import Contact
from tests.appointments.conftest import at, next_workday
from tests.forms import error_under


@pytest.fixture
def web(insured):
    client = Client()
    client.force_login(insured[0].account.user)
    return client


def _model_message(value: str) -> str:
    with pytest.raises(ValidationError) as refused:
        Appointment._meta.get_field("phone").clean(value, None)
    return refused.value.messages[0]


def test_a_wrong_phone_is_refused_under_its_field_and_nothing_is_booked(web, site_paris):
    slot = f"{site_paris.pk}|{at(next_workday(), 9).isoformat()}"
    page = web.post("/compte/rendez-vous/", {"motive": "ij_dossier", "slot": slot, "phone": "12"})
    assert page.status_code == 422
    assert error_under(page.content, "phone") == _model_message("12")
    assert b'id="booking-error"' in page.content  # the summary on top
    assert not Appointment.objects.exists() and not Contact.objects.exists()


def test_a_booking_without_a_slot_says_so_under_the_slots(web, site_paris):
    page = web.post("/compte/rendez-vous/", {"motive": "ij_dossier", "site": site_paris.pk})
    assert page.status_code == 422
    assert error_under(page.content, "slot-fieldset") == "choose a slot"
    # What was chosen stays chosen (the free slots are reloaded from it).
    assert b'<option value="ij_dossier" selected>' in page.content
    assert not Appointment.objects.exists()


def test_the_services_refusal_comes_back_under_its_field(web, site_paris):
    """The delays are the booking service's rule: its refusal of "start" is shown under the slots."""
    too_soon = f"{site_paris.pk}|{at(dt.date.today(), 7).isoformat()}"
    page = web.post("/compte/rendez-vous/", {"motive": "ij_dossier", "slot": too_soon})
    assert page.status_code == 422
    assert "must be at least" in error_under(page.content, "slot-fieldset")
    unknown = web.post("/compte/rendez-vous/", {"motive": "nope", "slot": too_soon})
    assert "unknown appointment motive" in error_under(unknown.content, "motive")
    assert not Appointment.objects.exists()


def test_the_waiting_list_refuses_dates_under_their_fields(web, site_paris):
    day = next_workday()
    body = {"motive": "ij_dossier", "site": site_paris.pk, "earliest": str(day)}
    wrong = web.post("/compte/rendez-vous/liste-attente/", {**body, "latest": "2026-13-45"})
    assert wrong.status_code == 422
    assert error_under(wrong.content, "latest") == "a date is required (YYYY-MM-DD)"
    assert b'id="waiting-error"' in wrong.content
    # The order of the dates is the service's rule (and the table's constraint): said under "to".
    backwards = web.post(
        "/compte/rendez-vous/liste-attente/", {**body, "latest": str(day - dt.timedelta(days=1))}
    )
    assert backwards.status_code == 422
    assert "must not be before" in error_under(backwards.content, "latest")
    assert not WaitingListEntry.objects.exists()


def test_the_agents_booking_refuses_a_wrong_phone_under_its_field(site_paris, agent_paris, make_person):
    person = make_person()
    client = Client()
    client.force_login(agent_paris)
    slot = f"{site_paris.pk}|{at(next_workday(), 9).isoformat()}"
    page = client.post(
        f"/agent/rendez-vous/{person.pk}/", {"motive": "ij_dossier", "slot": slot, "phone": "x"}
    )
    assert page.status_code == 422
    assert error_under(page.content, "phone") == _model_message("x")
    assert not Appointment.objects.exists() and not Contact.objects.exists()


def test_a_callback_row_refuses_a_note_too_long_under_its_row(client, agent_paris, site_paris, make_person):
    from django.utils import timezone

    from omniguichet.appointments import services as appointment_services
    from omniguichet.core.actors import Actor, Channel

    person = make_person()
    appointment = appointment_services.book(
        actor=Actor.agent(agent_paris), channel=Channel.PHONE, person_id=person.pk, site_id=site_paris.pk,
        motive="remboursement_rappel", start=at(next_workday(), 10), phone="0612345678",
    )  # fmt: skip
    today = timezone.localtime().replace(second=0, microsecond=0)
    Appointment.objects.filter(pk=appointment.pk).update(start=today, end=today + dt.timedelta(minutes=15))
    contacts = Contact.objects.filter(person=person).count()  # the booking's own
    client.force_login(agent_paris)
    url = f"/agent/callbacks/{appointment.pk}/"
    long_note = client.post(url, {"answered": "yes", "outcome": "resolved", "note": "x" * 4001})
    assert long_note.status_code == 422
    assert "at most 4000 characters" in error_under(long_note.content, f"note-{appointment.pk}")
    bad_outcome = client.post(url, {"answered": "yes", "outcome": "nonsense"})
    assert bad_outcome.status_code == 422 and "nonsense" in error_under(
        bad_outcome.content, f"outcome-{appointment.pk}"
    )
    appointment.refresh_from_db()
    assert appointment.status == "booked" and Contact.objects.filter(person=person).count() == contacts
