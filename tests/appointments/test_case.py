"""Book an appointment about a case: from the person's cases (account page, API), from the agent's record; the
appointment is linked to the case, the booking contact's subject is the case, and the case shows the
appointment."""

import pytest
from django.template.loader import render_to_string
from django.test import Client

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment
from omniguichet.cases.services import ingest_case_events, my_cases
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import InvalidInput
from omniguichet.crm.models import Contact
from tests.appointments.conftest import at, next_workday
from tests.cases.conftest import opened
from tests.crm.conftest import client_for


@pytest.fixture
def case(insured):
    person, _actor = insured
    ingest_case_events(actor=Actor.system(), rows=[opened("IJ-2026-0042", person)], source="t")
    return person.cases.get()


@pytest.fixture
def other_case(make_person):
    ingest_case_events(actor=Actor.system(), rows=[opened("IJ-OTHER", make_person())], source="t")


def test_insured_books_about_their_case_and_the_case_shows_it(insured, case, site_paris, motive):
    person, actor = insured
    appointment = services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive=motive.pk,
                                start=at(next_workday(), 9), case_ref="IJ-2026-0042")  # fmt: skip
    assert appointment.case == case
    contact = Contact.objects.get(person=person, channel="web")
    assert (contact.subject_kind, contact.subject_ref) == ("case", "IJ-2026-0042")
    assert "IJ-2026-0042" in contact.note and f"appointment {appointment.pk}" in contact.note
    # The case shows its appointment in the person's view of their cases, without a query per case.
    html = render_to_string("cases/_my_cases.html", {"cases": my_cases(actor=actor)})
    assert "Appointment on" in html and motive.label in html
    assert "/compte/rendez-vous/?case=IJ-2026-0042" in html
    assert f"/compte/rendez-vous/{appointment.pk}/" in html
    # ... and in the agent's record: the next appointment says which case it is about.
    [item] = services.next_appointments_section(person)
    assert "case IJ-2026-0042" in item.label


def test_another_persons_case_is_refused_like_a_missing_one(insured, case, other_case, site_paris, motive):
    _person, actor = insured
    for reference in ("IJ-OTHER", "NOPE"):
        with pytest.raises(InvalidInput) as refused:
            services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive=motive.pk,
                          start=at(next_workday(), 9), case_ref=reference)  # fmt: skip
        assert refused.value.fields == {"case_ref": "no such case of this person"}
    assert not Appointment.objects.exists() and not Contact.objects.exists()


def test_cases_in_one_query(insured, case, site_paris, motive, django_assert_num_queries):
    _person, actor = insured
    services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive=motive.pk,
                  start=at(next_workday(), 9), case_ref=case.reference)  # fmt: skip
    with django_assert_num_queries(1):
        by_case = services.appointments_by_case([case.pk])
    assert [a.motive.label for a in by_case[case.pk]] == [motive.label]


def test_account_page_books_about_a_case(insured, case, site_paris, motive):
    person, _actor = insured
    client = Client()
    client.force_login(person.account.user)
    page = client.get("/compte/rendez-vous/?case=IJ-2026-0042")
    assert page.status_code == 200
    assert b'<option value="IJ-2026-0042" selected>' in page.content
    start = at(next_workday(), 10)
    response = client.post("/compte/rendez-vous/", {
        "motive": motive.pk, "slot": f"{site_paris.pk}|{start.isoformat()}", "case_ref": "IJ-2026-0042",
    })  # fmt: skip
    appointment = Appointment.objects.get(person=person)
    assert response.status_code == 302 and appointment.case == case
    detail = client.get(f"/compte/rendez-vous/{appointment.pk}/")
    assert b"About your case IJ-2026-0042" in detail.content


def test_agent_books_about_a_case_from_the_record(
    client, insured, case, site_paris, motive, agent_paris, agent_ain
):
    person, _actor = insured
    client.force_login(agent_paris)
    record = client.get(f"/agent/persons/{person.pk}/")
    assert f"/agent/rendez-vous/{person.pk}/".encode() in record.content
    # The record links to a booking about each open case.
    assert f"/agent/rendez-vous/{person.pk}/?case=IJ-2026-0042".encode() in record.content
    page = client.get(f"/agent/rendez-vous/{person.pk}/?case=IJ-2026-0042")
    assert b'<option value="IJ-2026-0042" selected>' in page.content
    start = at(next_workday(), 11)
    response = client.post(f"/agent/rendez-vous/{person.pk}/", {
        "motive": motive.pk, "slot": f"{site_paris.pk}|{start.isoformat()}", "channel": "reception",
        "case_ref": "IJ-2026-0042",
    })  # fmt: skip
    assert response.status_code == 302
    appointment = Appointment.objects.get(person=person)
    assert appointment.case == case and appointment.booked_by == agent_paris
    contact = Contact.objects.get(person=person, channel="reception")
    assert (contact.subject_kind, contact.subject_ref) == ("case", "IJ-2026-0042")


def test_api_books_and_lists_by_case(insured, case, other_case, site_paris, motive, agent_ain):
    person, _actor = insured
    client = client_for(person.account.user)
    body = {"site": site_paris.pk, "motive": motive.pk, "start": at(next_workday(), 9).isoformat()}
    refused = client.post(
        "/api/v1/appointments", body | {"case_ref": "IJ-OTHER"}, content_type="application/json"
    )
    assert refused.status_code == 422 and "case_ref" in refused.json()["error"]["fields"]
    booked = client.post("/api/v1/appointments", body | {"case_ref": "IJ-2026-0042"},
                         content_type="application/json")  # fmt: skip
    assert booked.status_code == 201 and booked.json()["case_ref"] == "IJ-2026-0042"
    listed = client.get("/api/v1/appointments?case=IJ-2026-0042").json()
    assert [a["id"] for a in listed] == [booked.json()["id"]]
    assert client.get("/api/v1/appointments?case=IJ-OTHER").status_code == 422
    # The person's cases (GET /me/cases) show the appointment about each case.
    [mine] = client.get("/api/v1/me/cases").json()
    assert [a["id"] for a in mine["appointments"]] == [booked.json()["id"]]
    # An agent of another caisse cannot list them (the person is not found).
    assert (
        client_for(agent_ain).get(f"/api/v1/appointments?person_id={person.pk}&case=IJ-2026-0042").status_code
        == 404
    )
