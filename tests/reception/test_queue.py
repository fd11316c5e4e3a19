"""Kiosk check-in, serving order, the display without names, call next, closing the visit."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from omniguichet.appointments import services as appointments
from omniguichet.appointments.models import Appointment
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import InvalidInput, NotFound
from omniguichet.crm.models import Contact
from omniguichet.reception import services
from omniguichet.reception.models import Ticket
from tests.appointments.conftest import at, make_site, next_workday


def todays_appointment(actor, site, *, minutes_from_now=10):
    """An appointment today (booking today is refused by the delays: it is booked later, then moved)."""
    appointment = appointments.book(actor=actor, channel=Channel.WEB, site_id=site.pk, motive="ij_dossier",
                                    start=at(next_workday(), 9))  # fmt: skip
    start = timezone.now() + dt.timedelta(minutes=minutes_from_now)
    if timezone.localdate(start) != timezone.localdate():  # run just before midnight in Paris: still today
        start = timezone.now()
    Appointment.objects.filter(pk=appointment.pk).update(start=start, end=start + dt.timedelta(minutes=30))
    appointment.refresh_from_db()
    return appointment


def test_kiosk_with_the_appointment_code(insured, site_paris):
    person, actor = insured
    appointment = todays_appointment(actor, site_paris)
    ticket = services.take_ticket(site_id=site_paris.pk, code=appointment.checkin_code.lower())
    assert (ticket.category, ticket.person, ticket.appointment, ticket.number) == (
        "appointment", person, appointment, "R001",
    )  # fmt: skip
    # Scanned twice: the same ticket.
    assert services.take_ticket(site_id=site_paris.pk, code=appointment.checkin_code).pk == ticket.pk


def test_kiosk_refuses_codes_clearly(insured, site_paris, caisse_paris, agent_paris, site_ain):
    _person, actor = insured
    later = appointments.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                              start=at(next_workday(), 9))  # fmt: skip
    with pytest.raises(InvalidInput, match="this appointment is on"):
        services.take_ticket(site_id=site_paris.pk, code=later.checkin_code)
    other_site = make_site(caisse_paris, [agent_paris], name="Agence Nord")
    Appointment.objects.filter(pk=later.pk).update(
        start=timezone.now(), end=timezone.now() + dt.timedelta(minutes=30)
    )
    with pytest.raises(InvalidInput, match="another site"):
        services.take_ticket(site_id=other_site.pk, code=later.checkin_code)
    for site in (site_paris, site_ain):  # unknown, or another caisse's appointment: the same answer
        with pytest.raises(InvalidInput, match="unknown code"):
            services.take_ticket(
                site_id=site.pk, code="NOTACODE12" if site == site_paris else later.checkin_code
            )
    with pytest.raises(NotFound):
        services.take_ticket(site_id=999_999, motive="autre")
    assert not Ticket.objects.exists()


def test_kiosk_with_nir_and_birth_date(insured, site_paris):
    person, _actor = insured
    ticket = services.take_ticket(site_id=site_paris.pk, nir=person.nir, birth_date=person.birth_date,
                                  motive="carte_vitale")  # fmt: skip
    assert (ticket.person, ticket.category, ticket.number) == (person, "walk_in", "A001")
    # No match: an anonymous ticket, the same answer as a right pair (the kiosk tells a stranger nothing).
    anonymous = services.take_ticket(
        site_id=site_paris.pk, nir=person.nir, birth_date=dt.date(1990, 1, 1), motive="autre"
    )
    assert (anonymous.person, anonymous.category) == (None, "walk_in")
    with pytest.raises(InvalidInput) as exc:
        services.take_ticket(site_id=site_paris.pk, nir="123", birth_date=None, motive="autre")
    assert {"nir", "birth_date"} <= set(exc.value.fields)


def test_anonymous_walk_in_needs_only_a_motive(site_paris):
    with pytest.raises(InvalidInput, match="reason"):
        services.take_ticket(site_id=site_paris.pk)
    ticket = services.take_ticket(site_id=site_paris.pk, motive="autre", priority=True)
    assert (ticket.person, ticket.category, ticket.number) == (None, "priority", "P001")


def test_serving_order_appointments_then_priority_then_arrival(insured, site_paris, agent_paris):
    _person, actor = insured
    walk_1 = services.take_ticket(site_id=site_paris.pk, motive="autre")
    priority = services.take_ticket(site_id=site_paris.pk, motive="autre", priority=True)
    walk_2 = services.take_ticket(site_id=site_paris.pk, motive="autre")
    holder = services.take_ticket(
        site_id=site_paris.pk, code=todays_appointment(actor, site_paris).checkin_code
    )
    agent = Actor.agent(agent_paris)
    order = []
    for _ in range(4):
        ticket = services.call_next(actor=agent, site_id=site_paris.pk, desk="Guichet 2")
        order.append(ticket.pk)
        services.mark_left(actor=agent, ticket_id=ticket.pk)
    assert order == [holder.pk, priority.pk, walk_1.pk, walk_2.pk]
    assert services.call_next(actor=agent, site_id=site_paris.pk) is None


def test_agent_must_close_before_calling_again_and_other_caisse_is_404(site_paris, agent_paris, agent_ain):
    services.take_ticket(site_id=site_paris.pk, motive="autre")
    services.take_ticket(site_id=site_paris.pk, motive="autre")
    with pytest.raises(NotFound):
        services.call_next(actor=Actor.agent(agent_ain), site_id=site_paris.pk)
    agent = Actor.agent(agent_paris)
    first = services.call_next(actor=agent, site_id=site_paris.pk)
    from omniguichet.core.errors import Conflict

    with pytest.raises(Conflict, match=first.number):
        services.call_next(actor=agent, site_id=site_paris.pk)
    with pytest.raises(NotFound):
        services.close_visit(actor=Actor.agent(agent_ain), ticket_id=first.pk)


def test_closing_records_a_reception_contact_with_the_wait(insured, site_paris, agent_paris):
    person, actor = insured
    appointment = todays_appointment(actor, site_paris)
    ticket = services.take_ticket(site_id=site_paris.pk, code=appointment.checkin_code)
    Ticket.objects.filter(pk=ticket.pk).update(arrived_at=timezone.now() - dt.timedelta(minutes=12))
    agent = Actor.agent(agent_paris)
    called = services.call_next(actor=agent, site_id=site_paris.pk)
    closed = services.close_visit(
        actor=agent, ticket_id=called.pk, outcome="resolved", note="Dossier complet"
    )
    contact = Contact.objects.get(channel="reception")
    assert (contact.person, contact.on_appointment, contact.subject_kind, contact.subject_ref) == (
        person, True, "ticket", str(ticket.pk),
    )  # fmt: skip
    assert 12 * 60 - 5 <= contact.waited_seconds <= 12 * 60 + 5
    assert closed.contact_id == contact.pk and closed.service_seconds is not None
    appointment.refresh_from_db()
    assert appointment.status == "done"


def test_anonymous_visit_identified_at_the_desk(site_paris, agent_paris, make_person):
    person = make_person()
    ticket = services.take_ticket(site_id=site_paris.pk, motive="carte_vitale")
    agent = Actor.agent(agent_paris)
    services.call_next(actor=agent, site_id=site_paris.pk)
    services.close_visit(actor=agent, ticket_id=ticket.pk, person_id=person.pk)
    contact = Contact.objects.get()
    assert (contact.person, contact.on_appointment, contact.motive_id) == (person, False, "carte_vitale")
    other = services.take_ticket(site_id=site_paris.pk, motive="autre")
    services.call_next(actor=agent, site_id=site_paris.pk)
    services.close_visit(actor=agent, ticket_id=other.pk)  # not identified: no contact
    assert Contact.objects.count() == 1


def test_kiosk_and_display_pages(insured, site_paris):
    person, _actor = insured
    client = Client()
    assert client.get(f"/reception/{site_paris.pk}/kiosk").status_code == 200
    assert client.get("/reception/999999/kiosk").status_code == 404
    response = client.post(f"/reception/{site_paris.pk}/kiosk", {"nir": person.nir, "birth_date": "1984-12-03",
                                                                 "motive": "autre"})  # fmt: skip
    assert response.status_code == 200 and b'id="ticket-number">A001<' in response.content
    bad = client.post(f"/reception/{site_paris.pk}/kiosk", {"nir": person.nir, "birth_date": "1984-13-45"})
    assert bad.status_code == 422
    Ticket.objects.update(status="called", called_at=timezone.now(), desk="Guichet 3")
    display = client.get(f"/reception/{site_paris.pk}/display")
    assert b"A001" in display.content and b"Guichet 3" in display.content and b"every 2s" in display.content
    partial = client.get(
        f"/reception/{site_paris.pk}/display", {"partial": "1"}, headers={"HX-Request": "true"}
    )
    assert b"A001" in partial.content and b"<html" not in partial.content
    # The fragment's URL opened directly (without htmx): the whole page.
    assert b"<title>" in client.get(f"/reception/{site_paris.pk}/display", {"partial": "1"}).content
    for name in (person.family_name, person.given_names, person.nir):
        assert name.encode() not in display.content and name.encode() not in partial.content
    # The serving order is stated where visitors see it.
    rule = b"appointment holders first (tickets R), then priority needs (P), then the other visitors (A)"
    assert rule in display.content and rule in client.get(f"/reception/{site_paris.pk}/kiosk").content


def test_desk_pages(client, insured, site_paris, agent_paris, agent_ain):
    person, _actor = insured
    services.take_ticket(site_id=site_paris.pk, nir=person.nir, birth_date=person.birth_date, motive="autre")
    client.force_login(agent_ain)
    assert client.get(f"/reception/{site_paris.pk}/desk").status_code == 404
    assert client.post(f"/reception/{site_paris.pk}/call-next").status_code == 404
    client.force_login(agent_paris)
    assert client.get(f"/reception/{site_paris.pk}/desk").status_code == 200
    called = client.post(f"/reception/{site_paris.pk}/call-next", {"desk": "Guichet 1"})
    assert called.status_code == 302 and called.url.startswith(f"/agent/persons/{person.pk}/?purpose=")
    record = client.get(called.url)
    assert record.status_code == 200 and b"LEF" in record.content
    desk = client.get(f"/reception/{site_paris.pk}/desk")
    ticket = Ticket.objects.get()
    assert b'id="current-ticket"' in desk.content
    closed = client.post(f"/reception/tickets/{ticket.pk}/close", {"outcome": "resolved", "motive": "autre"})
    assert closed.status_code == 302
    assert Contact.objects.filter(channel="reception", person=person).count() == 1
    empty = client.post(f"/reception/{site_paris.pk}/call-next")
    assert "error=" in empty.url


def test_the_visit_is_closed_from_the_record_of_the_person_served(
    client, insured, site_paris, agent_paris, second_agent_paris, django_assert_num_queries
):
    person, actor = insured
    appointment = todays_appointment(actor, site_paris)
    services.take_ticket(site_id=site_paris.pk, code=appointment.checkin_code)
    # Another agent of the caisse sees no visit to close on the record (they did not call the ticket).
    client.force_login(second_agent_paris)
    assert b'id="visit-in-progress"' not in client.get(f"/agent/persons/{person.pk}/").content
    client.force_login(agent_paris)
    record = client.get(f"/agent/persons/{person.pk}/")
    assert b'id="visit-in-progress"' not in record.content  # not called yet
    called = client.post(f"/reception/{site_paris.pk}/call-next", {"desk": "Guichet 3"})
    ticket = Ticket.objects.get()
    record = client.get(called.url)
    assert b'id="visit-in-progress"' in record.content and ticket.number.encode() in record.content
    assert f'action="/reception/tickets/{ticket.pk}/close"'.encode() in record.content
    with django_assert_num_queries(1):
        assert services.visit_in_progress(actor=Actor.agent(agent_paris), person_id=person.pk) == ticket
    closed = client.post(f"/reception/tickets/{ticket.pk}/close", {
        "outcome": "resolved", "motive": "ij_suivi", "note": "Dossier complet", "next": "record",
    })  # fmt: skip
    assert closed.status_code == 302 and closed.url.startswith(f"/agent/persons/{person.pk}/?purpose=")
    ticket.refresh_from_db()
    appointment.refresh_from_db()
    assert (ticket.status, appointment.status) == ("closed", "done")
    visit = Contact.objects.get(channel="reception", person=person)
    assert (visit.on_appointment, visit.note, visit.motive_id) == (True, "Dossier complet", "ij_suivi")
    after = client.get(closed.url)
    assert b'id="visit-in-progress"' not in after.content
    assert f'data-contact-id="{visit.pk}"'.encode() in after.content
    # Closing twice: a clear conflict, nothing more recorded.
    again = client.post(f"/reception/tickets/{ticket.pk}/close", {"outcome": "resolved", "next": "record"})
    assert again.status_code == 409 and Contact.objects.filter(channel="reception").count() == 1
    # The refusal is a page of the platform (title, language, a way back), the bare reason for htmx.
    assert (
        b"<title>" in again.content
        and b'<html lang="en"' in again.content
        and b'id="error-reason"' in again.content
    )
    htmx = client.post(
        f"/reception/tickets/{ticket.pk}/close", {"outcome": "resolved"}, headers={"HX-Request": "true"}
    )
    assert (
        htmx.status_code == 409 and htmx["Content-Type"].startswith("text/plain") and b"<" not in htmx.content
    )


@pytest.mark.django_db(transaction=True)
def test_two_agents_calling_at_once_never_get_the_same_ticket(caisse_paris, agent_paris, second_agent_paris):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (run under pg_virtualenv)")
    site = make_site(caisse_paris, [agent_paris])
    for _ in range(3):
        services.take_ticket(site_id=site.pk, motive="autre")
    barrier = threading.Barrier(2)
    got: list[int | None] = []

    def run(user):
        try:
            barrier.wait()
            ticket = services.call_next(actor=Actor.agent(user), site_id=site.pk)
            got.append(ticket.pk if ticket else None)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(u,)) for u in (agent_paris, second_agent_paris)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 2 and None not in got and got[0] != got[1]


def test_pages_speak_french(settings, site_paris, insured):
    settings.LANGUAGE_CODE = "fr"
    from django.utils import translation

    with translation.override("fr"):
        kiosk = Client().get(f"/reception/{site_paris.pk}/kiosk")
        assert "Prendre mon ticket" in kiosk.content.decode()
        web = Client()
        web.force_login(insured[0].account.user)
        page = web.get("/compte/rendez-vous/").content.decode()
        assert "Prendre rendez-vous" in page and "Mes rendez-vous" in page
        refused = Client().get("/rendez-vous/gerer/forged/").content.decode()
        assert "ce lien n&#x27;est pas valide" in refused or "ce lien n'est pas valide" in refused


def test_agent_lists_the_sites_of_their_caisse(client, site_paris, site_ain, agent_paris):
    assert client.get("/reception/").status_code == 302
    client.force_login(agent_paris)
    page = client.get("/reception/").content.decode()
    assert f"/reception/{site_paris.pk}/desk" in page and f"/reception/{site_ain.pk}/" not in page


def test_the_display_never_shows_the_agents_login_as_the_desk(site_paris, agent_paris):
    """Called without a desk name (the API or an empty field), the screen shows a neutral label."""
    services.take_ticket(site_id=site_paris.pk, motive="autre")
    ticket = services.call_next(actor=Actor.agent(agent_paris), site_id=site_paris.pk, desk="  ")
    assert ticket.desk == "Desk"
    board = services.display_board(site_id=site_paris.pk)
    assert board.called == [(ticket.number, "Desk")]
    page = Client().get(f"/reception/{site_paris.pk}/display").content.decode()
    assert ticket.number in page and agent_paris.username not in page


def test_the_desk_counts_visitors_called_within_20_minutes(site_paris, agent_paris):
    """Waiting and service times per ticket feed the "received within 20 minutes" indicator."""
    agent = Actor.agent(agent_paris)
    waits = {}
    for minutes in (5, 19, 21, 45):
        ticket = services.take_ticket(site_id=site_paris.pk, motive="autre")
        Ticket.objects.filter(pk=ticket.pk).update(arrived_at=timezone.now() - dt.timedelta(minutes=minutes))
        called = services.call_next(actor=agent, site_id=site_paris.pk)
        closed = services.close_visit(actor=agent, ticket_id=called.pk)
        waits[minutes] = (closed.waited_seconds, closed.service_seconds)
    left = services.take_ticket(site_id=site_paris.pk, motive="autre")
    services.mark_left(actor=agent, ticket_id=left.pk)  # left without being served: not counted
    services.take_ticket(site_id=site_paris.pk, motive="autre")  # still waiting: not counted
    state = services.desk_state(actor=agent, site_id=site_paris.pk)
    assert (state.served_today, state.within_target) == (4, 2)
    for minutes, (waited, served) in waits.items():
        assert minutes * 60 - 5 <= waited <= minutes * 60 + 5 and 0 <= served < 5
    assert len(state.waiting) == 1
