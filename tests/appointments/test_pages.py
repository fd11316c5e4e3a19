"""The person's booking pages, the signed links, the waiting list offers, the agent's booking and call-backs."""

import datetime as dt

import pytest
from django.core import signing
from django.test import Client

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment, Status, WaitingListEntry
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.models import Contact
from tests.appointments.conftest import at, next_workday, sent
from tests.conftest import make_user


@pytest.fixture
def web(insured):
    client = Client()
    client.force_login(insured[0].account.user)
    return client


def _slot(site, start):
    return f"{site.pk}|{start.isoformat()}"


def test_pages_need_an_insured_login(db, site_paris):
    anonymous = Client().get("/compte/rendez-vous/")
    assert anonymous.status_code == 302 and anonymous.url.startswith("/compte/connexion/?next=")
    client = Client()
    client.force_login(make_user("someone", role=""))
    assert client.get("/compte/rendez-vous/").status_code == 403


def test_person_books_from_the_account(
    web, insured, site_paris, settings, django_capture_on_commit_callbacks
):
    person, _actor = insured
    page = web.get("/compte/rendez-vous/")
    assert page.status_code == 200 and b'id="booking-form"' in page.content
    day = next_workday()
    slots = web.get(
        "/compte/rendez-vous/creneaux/",
        {"motive": "ij_dossier", "site": site_paris.pk, "from": day},
        headers={"HX-Request": "true"},
    )
    assert _slot(site_paris, at(day, 8, 30)).encode() in slots.content
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            "/compte/rendez-vous/", {"motive": "ij_dossier", "slot": _slot(site_paris, at(day, 9, 0))}
        )
    appointment = Appointment.objects.get(person=person)
    assert response.status_code == 302 and response.url == f"/compte/rendez-vous/{appointment.pk}/"
    detail = web.get(response.url)
    assert appointment.checkin_code.encode() in detail.content and b"<svg" in detail.content
    ics = web.get(f"/compte/rendez-vous/{appointment.pk}/ics")
    assert ics["Content-Type"].startswith("text/calendar")
    assert Contact.objects.get(person=person).channel == "web"
    # Refusals are shown on the page; nothing is booked.
    again = web.post(
        "/compte/rendez-vous/", {"motive": "carte_vitale", "slot": _slot(site_paris, at(day, 7, 0))}
    )
    assert again.status_code == 422 and b"booking-error" in again.content
    assert web.post("/compte/rendez-vous/", {"motive": "carte_vitale", "slot": "garbage"}).status_code == 422
    cancel = web.post(f"/compte/rendez-vous/{appointment.pk}/annuler")
    assert cancel.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED


def test_another_persons_appointment_is_404(web, site_paris, make_person, agent_paris):
    other = make_person()
    appointment = services.book(actor=Actor.agent(agent_paris), channel=Channel.PHONE, person_id=other.pk,
                                site_id=site_paris.pk, motive="ij_dossier", start=at(next_workday(), 9))  # fmt: skip
    assert web.get(f"/compte/rendez-vous/{appointment.pk}/").status_code == 404
    assert web.post(f"/compte/rendez-vous/{appointment.pk}/annuler").status_code == 404


def test_signed_link_cancels_and_reschedules(
    insured, site_paris, settings, django_capture_on_commit_callbacks
):
    _person, actor = insured
    day = next_workday()
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                                    start=at(day, 9))  # fmt: skip
    link = next(w for w in sent("sms")[0].body.split() if "/rendez-vous/gerer/" in w)
    path = link.replace("https://omniguichet.test", "")
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and b"reschedule-form" in page.content
    moved = client.post(path, {"action": "reschedule", "slot": _slot(site_paris, at(day, 10))})
    assert moved.status_code == 302
    new = Appointment.objects.get(status=Status.BOOKED)
    assert new.start == at(day, 10) and new.pk != appointment.pk
    # The old link no longer works for the moved appointment's actions... it shows it cancelled.
    old = client.get(path)
    assert old.status_code == 200 and b"reschedule-form" not in old.content
    cancelled = client.post(moved.url, {"action": "cancel"})
    assert cancelled.status_code == 200
    new.refresh_from_db()
    assert new.status == Status.CANCELLED


def test_forged_and_expired_links_are_refused(insured, site_paris, settings):
    _person, actor = insured
    appointment = services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                                start=at(next_workday(), 9))  # fmt: skip
    token = services.manage_token(appointment)
    client = Client()
    forged = client.get(f"/rendez-vous/gerer/{token[:-3]}abc/")
    assert forged.status_code == 400 and b"this link is not valid" in forged.content
    other = signing.dumps({"a": appointment.pk, "c": "WRONGCODE1"}, salt=services.MANAGE_SALT, compress=True)
    assert client.get(f"/rendez-vous/gerer/{other}/").status_code == 400
    settings.APPOINTMENTS_LINK_MAX_AGE_DAYS = -1
    expired = client.post(f"/rendez-vous/gerer/{token}/", {"action": "cancel"})
    assert expired.status_code == 400 and b"this link has expired" in expired.content
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_qr_page_shows_no_name(insured, site_paris):
    person, actor = insured
    appointment = services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                                start=at(next_workday(), 9))  # fmt: skip
    page = Client().get(f"/rendez-vous/qr/{appointment.checkin_code}/")
    assert page.status_code == 200 and b"<svg" in page.content
    assert person.family_name.encode() not in page.content and person.given_names.encode() not in page.content
    assert Client().get("/rendez-vous/qr/NOPE/").status_code == 404


def test_freed_slot_is_offered_to_the_waiting_list_with_a_cap(
    insured, make_person, site_paris, agent_paris, settings, django_capture_on_commit_callbacks
):
    settings.APPOINTMENTS_MAX_OFFERS = 1
    person, actor = insured
    day = next_workday()
    later = services.book(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                          start=at(day + dt.timedelta(days=3), 14))  # fmt: skip
    services.join_waiting_list(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                               earliest=day, latest=day + dt.timedelta(days=5))  # fmt: skip
    agent = Actor.agent(agent_paris)
    others = [
        services.book(
            actor=agent,
            channel=Channel.PHONE,
            person_id=make_person().pk,
            site_id=site_paris.pk,
            motive="ij_dossier",
            start=at(day, h),
        )
        for h in (9, 10)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(actor=agent, channel=Channel.PHONE, appointment_id=others[0].pk)
    offers = [m for m in sent("sms") if "/rendez-vous/offre/" in m.body]
    assert len(offers) == 1 and offers[0].recipient == "+33698765432"
    entry = WaitingListEntry.objects.get()
    assert entry.offers_sent == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(actor=agent, channel=Channel.PHONE, appointment_id=others[1].pk)
    assert len([m for m in sent("sms") if "/rendez-vous/offre/" in m.body]) == 1  # cap
    link = next(w for w in offers[0].body.split() if "/rendez-vous/offre/" in w).replace(
        "https://omniguichet.test", ""
    )
    shown = Client().get(link)
    assert shown.status_code == 200 and f"{day:%d/%m/%Y} 09:00".encode() in shown.content
    accepted = Client().post(link)
    assert accepted.status_code == 302
    booked = Appointment.objects.get(person=person, status=Status.BOOKED)
    assert booked.start == at(day, 9)
    later.refresh_from_db()
    assert later.status == Status.CANCELLED  # the later appointment gave way, with its contact
    assert Contact.objects.filter(
        person=person, subject_ref=str(later.pk), note__contains="cancelled"
    ).exists()
    entry.refresh_from_db()
    assert entry.status == "booked"
    assert Client().post(link).status_code == 409  # used once
    assert Client().get(link).status_code == 409
    for method in ("get", "post"):
        forged = getattr(Client(), method)("/rendez-vous/offre/forged/")
        assert forged.status_code == 400 and b"this link is not valid" in forged.content


def _offer_links(person=None):
    return [
        next(w for w in m.body.split() if "/rendez-vous/offre/" in w).replace("https://omniguichet.test", "")
        for m in sent("sms", person)
        if "/rendez-vous/offre/" in m.body
    ]


def test_a_capped_person_is_skipped_and_the_next_one_gets_the_offer(
    insured, make_person, site_paris, agent_paris, settings, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from omniguichet.referential.models import ContactPoint

    settings.APPOINTMENTS_MAX_OFFERS = 2
    first, _actor = insured
    second = make_person()
    ContactPoint.objects.create(
        person=second, kind="mobile", value="+33611111111", verified=True, verified_at=timezone.now()
    )
    day = next_workday()
    agent = Actor.agent(agent_paris)
    for person in (first, second):  # the insured person waits first
        services.join_waiting_list(actor=agent, channel=Channel.PHONE, person_id=person.pk, site_id=site_paris.pk,
                                   motive="ij_dossier", earliest=day, latest=day)  # fmt: skip
    booked = []
    for h in (9, 10, 11):
        booked.append(services.book(actor=agent, channel=Channel.PHONE, person_id=make_person().pk,
                                    site_id=site_paris.pk, motive="ij_dossier", start=at(day, h)))  # fmt: skip
    for appointment in booked:
        with django_capture_on_commit_callbacks(execute=True):
            services.cancel(actor=agent, channel=Channel.PHONE, appointment_id=appointment.pk)
    # The first in line gets the first two offers (the cap), the third goes to the next person.
    assert (len(_offer_links(first)), len(_offer_links(second))) == (2, 1)
    assert dict(WaitingListEntry.objects.values_list("person", "offers_sent")) == {first.pk: 2, second.pk: 1}
    assert "11:00" in sent("sms", second)[-1].body


def test_an_expired_or_altered_offer_link_books_nothing(
    insured, make_person, site_paris, agent_paris, settings, django_capture_on_commit_callbacks
):
    person, actor = insured
    day = next_workday()
    services.join_waiting_list(actor=actor, channel=Channel.WEB, site_id=site_paris.pk, motive="ij_dossier",
                               earliest=day, latest=day)  # fmt: skip
    agent = Actor.agent(agent_paris)
    other = services.book(actor=agent, channel=Channel.PHONE, person_id=make_person().pk, site_id=site_paris.pk,
                          motive="ij_dossier", start=at(day, 9))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(actor=agent, channel=Channel.PHONE, appointment_id=other.pk)
    [link] = _offer_links(person)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    altered = link.replace(token, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    assert Client().post(altered).status_code == 400
    settings.APPOINTMENTS_OFFER_HOURS = -1
    for method in ("get", "post"):
        expired = getattr(Client(), method)(link)
        assert expired.status_code == 400 and b"this link has expired" in expired.content
    assert not Appointment.objects.filter(person=person).exists()
    assert WaitingListEntry.objects.get().status == "waiting"


def test_agent_books_from_the_console(client, agent_paris, agent_ain, site_paris, make_person):
    person = make_person()
    client.force_login(agent_ain)
    assert client.get(f"/agent/rendez-vous/{person.pk}/").status_code == 404
    client.force_login(agent_paris)
    assert client.get(f"/agent/rendez-vous/{person.pk}/").status_code == 200
    day = next_workday()
    slots = client.get(
        f"/agent/rendez-vous/{person.pk}/creneaux/",
        {"motive": "ij_dossier", "site": site_paris.pk},
        headers={"HX-Request": "true"},
    )
    assert b'name="slot"' in slots.content
    response = client.post(
        f"/agent/rendez-vous/{person.pk}/",
        {"motive": "ij_dossier", "channel": "reception", "slot": _slot(site_paris, at(day, 9))},
    )
    assert response.status_code == 302 and response.url == f"/agent/persons/{person.pk}/"
    appointment = Appointment.objects.get()
    assert (appointment.booked_by, appointment.booked_channel) == (agent_paris, "reception")


def test_callback_list_and_no_answer_then_close(
    client, agent_paris, site_paris, make_person, settings, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from omniguichet.referential.models import ContactPoint

    person = make_person()
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33612345678", verified=True, verified_at=timezone.now()
    )
    agent = Actor.agent(agent_paris)
    # Booked for later today is not possible (2-hour delay, opening hours): place it today directly.
    appointment = services.book(actor=agent, channel=Channel.PHONE, person_id=person.pk, site_id=site_paris.pk,
                                motive="remboursement_rappel", start=at(next_workday(), 10),
                                phone="0612345678")  # fmt: skip
    today = timezone.localtime().replace(second=0, microsecond=0)
    Appointment.objects.filter(pk=appointment.pk).update(start=today, end=today + dt.timedelta(minutes=15))
    page = client.get("/agent/callbacks/")
    assert page.status_code == 302  # login first
    client.force_login(agent_paris)
    page = client.get("/agent/callbacks/")
    assert page.status_code == 200 and f"/agent/persons/{person.pk}/".encode() in page.content
    assert b"+33612345678" in page.content
    client.post(f"/agent/callbacks/{appointment.pk}/", {"answered": "no"})
    appointment.refresh_from_db()
    assert (appointment.status, appointment.callback_attempts) == ("booked", 1) and appointment.retry_after
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/agent/callbacks/{appointment.pk}/", {"answered": "no"})
    appointment.refresh_from_db()
    assert appointment.status == "no_answer"
    calls = Contact.objects.filter(person=person, channel="phone", direction="outbound")
    assert [c.answered for c in calls] == [False, False]
    assert "tried to call you back" in sent("sms")[-1].body
    assert client.post(f"/agent/callbacks/{appointment.pk}/", {"answered": "yes"}).status_code == 409


def test_callback_answered_is_a_resolved_phone_contact(
    client, agent_paris, agent_ain, site_paris, make_person
):
    person = make_person()
    appointment = services.book(actor=Actor.agent(agent_paris), channel=Channel.PHONE, person_id=person.pk,
                                site_id=site_paris.pk, motive="remboursement_rappel", start=at(next_workday(), 10),
                                phone="0612345678")  # fmt: skip
    client.force_login(agent_ain)
    assert client.post(f"/agent/callbacks/{appointment.pk}/", {"answered": "yes"}).status_code == 404
    client.force_login(agent_paris)
    client.post(
        f"/agent/callbacks/{appointment.pk}/", {"answered": "yes", "outcome": "resolved", "note": "Réglé"}
    )
    appointment.refresh_from_db()
    assert appointment.status == "done"
    contact = Contact.objects.get(person=person, channel="phone", direction="outbound")
    assert (contact.answered, contact.outcome, contact.note, contact.subject_ref) == (
        True, "resolved", "Réglé", str(appointment.pk),
    )  # fmt: skip


def test_person_joins_the_waiting_list_from_the_account(web, insured, site_paris, site_ain):
    person, _actor = insured
    page = web.get("/compte/rendez-vous/")
    assert b'id="waiting-form"' in page.content
    day = next_workday()
    body = {"motive": "ij_dossier", "site": site_paris.pk, "earliest": str(day), "latest": str(day)}
    joined = web.post("/compte/rendez-vous/liste-attente/", body)
    assert joined.status_code == 302 and joined.url == "/compte/rendez-vous/?waiting=1"
    entry = WaitingListEntry.objects.get(person=person)
    assert (entry.site, entry.motive_id, entry.earliest, entry.latest) == (site_paris, "ij_dossier", day, day)
    assert b'id="waiting-done"' in web.get(joined.url).content
    twice = web.post("/compte/rendez-vous/liste-attente/", body)
    assert twice.status_code == 409 and b'id="waiting-error"' in twice.content
    refusals = [
        ({**body, "latest": "2026-13-45"}, 422, b"a date is required"),
        (
            {**body, "earliest": str(day), "latest": str(day - dt.timedelta(days=1))},
            422,
            b"must not be before",
        ),
        ({**body, "site": site_ain.pk}, 422, b"no such site"),  # another caisse's site: like a missing one
        ({**body, "motive": "nope"}, 422, b"unknown appointment motive"),
    ]
    for data, status, reason in refusals:
        response = web.post("/compte/rendez-vous/liste-attente/", data)
        assert response.status_code == status and reason in response.content, (data, response.status_code)
    assert WaitingListEntry.objects.count() == 1
    assert Client().post("/compte/rendez-vous/liste-attente/", body).status_code == 302  # login first


def test_the_offer_cap_counts_every_waiting_list_entry_of_the_person(
    insured, make_person, site_paris, agent_paris, caisse_paris, settings, django_capture_on_commit_callbacks
):
    """Waiting at two sites, the person receives at most APPOINTMENTS_MAX_OFFERS offers in all."""
    from tests.appointments.conftest import make_site

    settings.APPOINTMENTS_MAX_OFFERS = 1
    person, actor = insured
    other_site = make_site(caisse_paris, [agent_paris], name="Agence Nord")
    day = next_workday()
    for site in (site_paris, other_site):
        services.join_waiting_list(actor=actor, channel=Channel.WEB, site_id=site.pk, motive="ij_dossier",
                                   earliest=day, latest=day)  # fmt: skip
    agent = Actor.agent(agent_paris)
    for site, hour in ((site_paris, 9), (other_site, 14)):
        taken = services.book(actor=agent, channel=Channel.PHONE, person_id=make_person().pk, site_id=site.pk,
                              motive="ij_dossier", start=at(day, hour))  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            services.cancel(actor=agent, channel=Channel.PHONE, appointment_id=taken.pk)
    assert len(_offer_links(person)) == 1
    assert sorted(WaitingListEntry.objects.values_list("offers_sent", flat=True)) == [0, 1]
