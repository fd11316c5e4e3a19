"""The appointments API: anonymous 401, other caisse 404, then the person and the agent."""

import datetime as dt

from django.test import Client

from omniguichet.appointments.models import Appointment
from omniguichet.crm.models import Contact
from tests.appointments.conftest import at, insured_login, next_workday
from tests.conftest import make_user
from tests.crm.conftest import client_for


def test_anonymous_is_401(db):
    client = Client()
    for url in (
        "/api/v1/appointments/slots?motive=ij_dossier",
        "/api/v1/appointments",
        "/api/v1/appointments/1",
    ):
        assert client.get(url).status_code == 401
    assert client.post("/api/v1/appointments", {}, content_type="application/json").status_code == 401


def test_a_login_without_account_or_role_is_403(db):
    client = client_for(make_user("nobody", role=""))
    assert client.get("/api/v1/appointments/sites").status_code == 403


def test_insured_searches_books_downloads_and_cancels(insured, site_paris, site_ain, motive):
    person, _actor = insured
    client = client_for(person.account.user)
    sites = client.get("/api/v1/appointments/sites").json()
    assert [s["id"] for s in sites] == [site_paris.pk]  # their caisse's sites only
    day = next_workday()
    response = client.get(
        "/api/v1/appointments/slots", {"motive": "ij_dossier", "site": site_paris.pk, "from": day, "to": day}
    )
    assert response.status_code == 200, response.json()
    slots = response.json()
    assert dt.datetime.fromisoformat(slots[0]["start"]) == at(day, 8, 30)
    # Another caisse's site: not found, like a missing one.
    other = client.get("/api/v1/appointments/slots", {"motive": "ij_dossier", "site": site_ain.pk})
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    refused = client.post(
        "/api/v1/appointments",
        {"site": site_ain.pk, "motive": "ij_dossier", "start": at(day, 9).isoformat()},
        content_type="application/json",
    )
    assert refused.status_code == 404
    created = client.post(
        "/api/v1/appointments",
        {"site": site_paris.pk, "motive": "ij_dossier", "start": slots[0]["start"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["person_id"] == person.pk and body["status"] == "booked" and len(body["checkin_code"]) == 10
    assert Contact.objects.get(person=person).channel == "app"
    ics = client.get(f"/api/v1/appointments/{body['id']}/ics")
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content and b"\r\n" in ics.content
    twice = client.post(
        "/api/v1/appointments",
        {"site": site_paris.pk, "motive": "ij_dossier", "start": slots[1]["start"]},
        content_type="application/json",
    )
    assert twice.status_code == 409
    listed = client.get("/api/v1/appointments").json()
    assert [a["id"] for a in listed] == [body["id"]]
    cancelled = client.post(f"/api/v1/appointments/{body['id']}/cancel", {}, content_type="application/json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get("/api/v1/appointments").json() == []


def test_bad_input_gets_a_field_and_a_reason(insured, site_paris):
    person, _actor = insured
    client = client_for(person.account.user)
    day = next_workday()
    cases = [
        ({"site": site_paris.pk, "motive": "nope", "start": at(day, 9).isoformat()}, "motive"),
        ({"site": site_paris.pk, "motive": "ij_dossier", "start": "2026-13-01T09:00"}, "start"),
        ({"site": site_paris.pk, "motive": "ij_dossier", "start": at(day, 7).isoformat()}, "start"),
        ({"site": site_paris.pk, "motive": "ij_dossier", "start": f"{day}T09:00:00"}, "start"),
        ({"site": 2**70, "motive": "ij_dossier", "start": at(day, 9).isoformat()}, "site"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/appointments", body, content_type="application/json")
        assert response.status_code == 422, (body, response.json())
        assert field in response.json()["error"]["fields"], response.json()
    assert not Appointment.objects.exists()


def test_agent_books_for_a_person_of_their_caisse_only(
    agent_paris, agent_ain, site_paris, make_person, motive
):
    person = make_person()
    day = next_workday()
    body = {"site": site_paris.pk, "motive": "ij_dossier", "start": at(day, 9).isoformat(), "person_id": person.pk,
            "channel": "reception"}  # fmt: skip
    assert (
        client_for(agent_ain).post("/api/v1/appointments", body, content_type="application/json").status_code
        == 404
    )
    response = client_for(agent_paris).post("/api/v1/appointments", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    appointment = Appointment.objects.get()
    assert (appointment.booked_by, appointment.booked_channel) == (agent_paris, "reception")
    contact = Contact.objects.get()
    assert (contact.channel, contact.agent, contact.subject_ref) == (
        "reception",
        agent_paris,
        str(appointment.pk),
    )
    # Without a person: a clear refusal.
    del body["person_id"]
    refused = client_for(agent_paris).post("/api/v1/appointments", body, content_type="application/json")
    assert refused.status_code == 422 and "person_id" in refused.json()["error"]["fields"]
    # Another caisse's agent does not see it.
    assert client_for(agent_ain).get(f"/api/v1/appointments/{appointment.pk}").status_code == 404
    assert client_for(agent_paris).get(f"/api/v1/appointments/{appointment.pk}").status_code == 200


def test_another_person_cannot_read_or_cancel(insured, site_paris, make_person):
    _person, actor = insured
    from omniguichet.appointments import services
    from omniguichet.core.actors import Channel

    appointment = services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                                start=at(next_workday(), 9))  # fmt: skip
    stranger = client_for(insured_login(make_person()))
    assert stranger.get(f"/api/v1/appointments/{appointment.pk}").status_code == 404
    response = stranger.post(
        f"/api/v1/appointments/{appointment.pk}/cancel", {}, content_type="application/json"
    )
    assert response.status_code == 404


def test_waiting_list_via_api(insured, site_paris):
    person, _actor = insured
    client = client_for(person.account.user)
    today = dt.date.today()
    latest = str(today + dt.timedelta(days=10))
    body = {"site": site_paris.pk, "motive": "ij_dossier", "earliest": str(today), "latest": latest}
    first = client.post("/api/v1/appointments/waiting-list", body, content_type="application/json")
    assert first.status_code == 201 and first.json()["status"] == "waiting"
    again = client.post("/api/v1/appointments/waiting-list", body, content_type="application/json")
    assert again.status_code == 409
    body["latest"] = str(today - dt.timedelta(days=1))
    bad = client.post("/api/v1/appointments/waiting-list", body, content_type="application/json")
    assert bad.status_code == 422 and "latest" in bad.json()["error"]["fields"]


def test_a_motive_that_is_not_a_code_is_refused_before_any_query(insured, site_paris, motive):
    """Motive codes are slugs: a NUL byte or a space is an unknown motive (422), on SQLite as on PostgreSQL, where
    a NUL byte in a query parameter would otherwise be a server error; booking refuses it the same way."""
    person, _actor = insured
    client = client_for(person.account.user)
    for code in ("ij\x00dossier", "ij dossier", "é"):
        for response in (
            client.get("/api/v1/appointments/slots", {"motive": code}),
            client.post(
                "/api/v1/appointments",
                {"site": site_paris.pk, "motive": code, "start": at(next_workday(), 9).isoformat()},
                content_type="application/json",
            ),
        ):
            assert response.status_code == 422, (code, response.content)
            assert "motive" in response.json()["error"]["fields"]
    assert not Appointment.objects.exists()
