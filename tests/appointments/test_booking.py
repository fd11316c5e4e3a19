"""The booking core: slots, delays and hours, sectorisation, taken slots, cancellation, contacts, the record."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment, SiteClosure, Status
from omniguichet.appointments.services import PARIS
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict, InvalidInput, NotFound
from omniguichet.crm.models import Contact
from omniguichet.crm.services import open_record
from omniguichet.outreach.models import OutboundMessage
from omniguichet.outreach.services import drain
from tests.appointments.conftest import at, next_workday, sent, sink_lines


def book(actor, site, motive, start, **kw):
    return services.book(actor=actor, channel=kw.pop("channel", Channel.WEB), site_id=site.pk, motive=motive.pk,
                         start=start, **kw)  # fmt: skip


def test_insured_books_and_everything_follows(
    insured, site_paris, motive, settings, client, mailoutbox, django_capture_on_commit_callbacks
):
    person, actor = insured
    day = next_workday()
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(actor, site_paris, motive, at(day, 9, 0))
    assert (appointment.person, appointment.site, appointment.status) == (person, site_paris, Status.BOOKED)
    assert appointment.end - appointment.start == dt.timedelta(minutes=30)
    contact = Contact.objects.get(person=person)
    assert (contact.channel, contact.subject_kind, contact.subject_ref, contact.motive_id) == (
        "web", "appointment", str(appointment.pk), "ij_suivi",
    )  # fmt: skip
    # The confirmation is in the outbound message ledger: an SMS and an e-mail, with their idempotency keys.
    [sms] = sent("sms")
    assert (
        sms.recipient == "+33698765432"
        and sms.idempotency_key == f"send:appointment:{appointment.pk}:confirmation:sms"
    )
    assert (sms.person_id, sms.subject_kind, sms.subject_ref, sms.motive) == (
        person.pk, "appointment", str(appointment.pk), "ij_suivi",
    )  # fmt: skip
    assert f"https://omniguichet.test/rendez-vous/qr/{appointment.checkin_code}/" in sms.body
    assert "/rendez-vous/gerer/" in sms.body
    [email] = sent("email")
    assert "Arrêts de travail" in email.body  # documents to bring
    # The .ics is a signed link, served without login.
    ics_link = next(w for w in email.body.split() if w.endswith("/ics")).replace(
        "https://omniguichet.test", ""
    )
    response = client.get(ics_link)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert "DTSTART:" + appointment.start.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") in response.text
    assert client.get(ics_link.replace("/ics", "x/ics")).status_code == 400
    # Booked again by mistake (the same key): nothing more is sent.
    assert services.send_confirmation(appointment.pk, kind="confirmation") == 2
    assert len(sent("sms")) == 1 and len(sent("email")) == 1
    # The ledger's providers send it: the SMS file provider holds it (quiet hours off for the test).
    settings.OUTREACH_SMS_QUIET_FROM, settings.OUTREACH_SMS_QUIET_UNTIL = 24, 0
    OutboundMessage.objects.update(not_before=timezone.now())
    drain()
    [line] = sink_lines(settings.OUTREACH_OUTBOX_DIR, "sms")
    assert line["to"] == "+33698765432" and line["key"] == sms.idempotency_key
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["marie.lefevre@orange.example"]
    # The e-mail carries the .ics, built when it left (the appointment's state then).
    [(name, content, mimetype)] = mail.outbox[0].attachments
    assert (name, mimetype) == ("rendez-vous.ics", "text/calendar")
    calendar = content.decode() if isinstance(content, bytes) else content
    assert calendar == services.ics(appointment) and "STATUS:CONFIRMED" in calendar
    # The 48-hour reminder waits in the task queue.
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get(task_path__endswith="send_reminder")
    assert task.run_after == appointment.start - dt.timedelta(hours=48)


def test_the_slot_is_gone_once_booked(insured, site_paris, motive):
    _person, actor = insured
    day = next_workday()
    slots = services.find_free_slots(actor=actor, channel=Channel.WEB, motive=motive.pk, site_id=site_paris.pk,
                                     date_from=day, date_to=day, limit=200)  # fmt: skip
    starts = [s.start for s in slots]
    assert starts[0] == at(day, 8, 30) and at(day, 12, 0) not in starts and at(day, 11, 30) in starts
    assert at(day, 11, 45) not in starts  # a 30-minute appointment does not fit before noon
    # 2 agents: booking 9:00 once leaves it offered (the other agent); twice takes it.
    book(actor, site_paris, motive, at(day, 9, 0))
    slots = services.find_free_slots(actor=actor, channel=Channel.WEB, motive=motive.pk, site_id=site_paris.pk,
                                     date_from=day, date_to=day, limit=200)  # fmt: skip
    assert at(day, 9, 0) in [s.start for s in slots]


def test_taken_slot_is_refused_and_nothing_is_half_booked(make_person, site_paris, motive, agent_paris):
    agent = Actor.agent(agent_paris)
    day = next_workday()
    persons = [make_person() for _ in range(3)]
    for p in persons[:2]:
        services.book(actor=agent, channel=Channel.PHONE, person_id=p.pk, site_id=site_paris.pk,
                      motive=motive.pk, start=at(day, 10, 0))  # fmt: skip
    # An overlapping start (10:15, inside both agents' 10:00-10:30) is taken too.
    for start in (at(day, 10, 0), at(day, 10, 15)):
        with pytest.raises(Conflict, match="taken"):
            services.book(actor=agent, channel=Channel.PHONE, person_id=persons[2].pk, site_id=site_paris.pk,
                          motive=motive.pk, start=start)  # fmt: skip
    assert Appointment.objects.count() == 2 and Contact.objects.count() == 2
    other = site_paris.availabilities.exclude(agent=agent_paris).first().agent_id
    assert set(Appointment.objects.values_list("agent", flat=True)) == {agent_paris.pk, other}


@pytest.mark.parametrize(
    ("hour", "minute", "days", "reason"),
    [
        (9, 0, 0, "at least 24 hours"),  # today: too soon
        (9, 0, 70, "at most 60 days"),
        (7, 30, 3, "outside the opening hours"),
        (12, 0, 3, "outside the opening hours"),  # lunch break
        (9, 10, 3, "off the slot grid"),
    ],
)
def test_bad_times_are_refused_clearly(insured, site_paris, motive, hour, minute, days, reason):
    _person, actor = insured
    day = next_workday(days) if days else timezone.localdate()
    with pytest.raises(InvalidInput) as exc:
        book(actor, site_paris, motive, at(day, hour, minute))
    assert reason in exc.value.fields["start"]
    assert not Appointment.objects.exists() and not Contact.objects.exists()


def test_closed_days_are_refused_and_not_offered(insured, site_paris, motive):
    _person, actor = insured
    day = next_workday()
    SiteClosure.objects.create(site=site_paris, first_day=day, last_day=day, reason="Travaux")
    with pytest.raises(InvalidInput, match="closed"):
        book(actor, site_paris, motive, at(day, 9, 0))
    slots = services.find_free_slots(actor=actor, channel=Channel.WEB, motive=motive.pk, site_id=site_paris.pk,
                                     date_from=day, date_to=day)  # fmt: skip
    assert slots == []


def test_naive_times_are_refused(insured, site_paris, motive):
    _person, actor = insured
    with pytest.raises(InvalidInput, match="time zone"):
        book(actor, site_paris, motive, dt.datetime.combine(next_workday(), dt.time(9)))


def test_another_caisse_site_is_not_found(insured, site_ain, motive, agent_paris, make_person):
    _person, actor = insured
    with pytest.raises(NotFound):
        book(actor, site_ain, motive, at(next_workday(), 9, 0))
    with pytest.raises(NotFound):
        services.find_free_slots(actor=actor, channel=Channel.WEB, motive=motive.pk, site_id=site_ain.pk)
    # An agent cannot book for another caisse's person either.
    ain_person = make_person(caisse_code="011")
    with pytest.raises(NotFound):
        services.book(actor=Actor.agent(agent_paris), channel=Channel.PHONE, person_id=ain_person.pk,
                      site_id=site_ain.pk, motive=motive.pk, start=at(next_workday(), 9, 0))  # fmt: skip
    assert not Appointment.objects.exists()


def test_insured_cannot_book_through_an_agent_channel(insured, site_paris, motive):
    _person, actor = insured
    with pytest.raises(InvalidInput) as exc:
        book(actor, site_paris, motive, at(next_workday(), 9, 0), channel=Channel.PHONE)
    assert "channel" in exc.value.fields


def test_one_live_appointment_per_motive(insured, site_paris, motive):
    _person, actor = insured
    book(actor, site_paris, motive, at(next_workday(), 9, 0))
    with pytest.raises(Conflict, match="already booked"):
        book(actor, site_paris, motive, at(next_workday(4), 9, 0))


def test_cancel_frees_the_slot_and_records_a_contact(
    insured, site_paris, motive, settings, django_capture_on_commit_callbacks
):
    person, actor = insured
    day = next_workday()
    appointment = book(actor, site_paris, motive, at(day, 9, 0))
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(actor=actor, channel=Channel.WEB, appointment_id=appointment.pk)
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert Contact.objects.filter(person=person, subject_ref=str(appointment.pk)).count() == 2
    assert "cancelled" in sent("sms")[-1].body
    with pytest.raises(Conflict):
        services.cancel(actor=actor, channel=Channel.WEB, appointment_id=appointment.pk)
    # Booked again at the same start: the partial unique index only counts live appointments.
    again = book(actor, site_paris, motive, at(day, 9, 0))
    assert again.status == Status.BOOKED


def test_others_cannot_cancel(insured, site_paris, motive, agent_ain, make_person):
    _person, actor = insured
    appointment = book(actor, site_paris, motive, at(next_workday(), 9, 0))
    from omniguichet.core.actors import insured_actor
    from tests.appointments.conftest import insured_login

    stranger = insured_actor(insured_login(make_person()))
    for other in (stranger, Actor.agent(agent_ain)):
        with pytest.raises(NotFound):
            services.cancel(actor=other, channel=Channel.PHONE, appointment_id=appointment.pk)


def test_reschedule_keeps_the_old_one_if_the_new_slot_is_taken(
    insured, site_paris, motive, make_person, agent_paris
):
    _person, actor = insured
    day = next_workday()
    first = book(actor, site_paris, motive, at(day, 9, 0))
    # Both agents busy at 14:00.
    for p in (make_person(), make_person()):
        services.book(actor=Actor.agent(agent_paris), channel=Channel.RECEPTION, person_id=p.pk,
                      site_id=site_paris.pk, motive=motive.pk, start=at(day, 14, 0))  # fmt: skip
    with pytest.raises(Conflict):
        services.reschedule(actor=actor, channel=Channel.WEB, appointment_id=first.pk, start=at(day, 14, 0))
    first.refresh_from_db()
    assert first.status == Status.BOOKED
    moved = services.reschedule(
        actor=actor, channel=Channel.WEB, appointment_id=first.pk, start=at(day, 9, 15)
    )
    first.refresh_from_db()
    assert (first.status, moved.status, moved.start) == (Status.CANCELLED, Status.BOOKED, at(day, 9, 15))
    # The refused move recorded nothing; the move is one contact about the new appointment.
    [move] = Contact.objects.filter(person=first.person, note__startswith="Appointment moved")
    assert (move.subject_kind, move.subject_ref, move.channel) == ("appointment", str(moved.pk), "web")


def test_phone_appointment_needs_a_number(make_person, site_paris, phone_motive, agent_paris):
    person = make_person()  # no mobile on file
    agent = Actor.agent(agent_paris)
    kwargs = dict(actor=agent, channel=Channel.PHONE, person_id=person.pk, site_id=site_paris.pk,
                  motive=phone_motive.pk, start=at(next_workday(), 10, 0))  # fmt: skip
    with pytest.raises(InvalidInput) as exc:
        services.book(**kwargs)
    assert "phone" in exc.value.fields
    with pytest.raises(InvalidInput):
        services.book(**kwargs, phone="12")
    appointment = services.book(**kwargs, phone="06 12 34 56 78")
    assert appointment.phone == "+33612345678" and appointment.mode == "phone"


def test_record_section_lists_next_appointments_in_one_query(
    insured, site_paris, motive, agent_paris, django_assert_num_queries
):
    person, actor = insured
    appointment = book(actor, site_paris, motive, at(next_workday(), 9, 0))
    with django_assert_num_queries(1):
        items = services.next_appointments_section(person)
    assert [i.ref for i in items] == [str(appointment.pk)] and "Accueil Paris" in items[0].label
    record = open_record(actor=Actor.agent(agent_paris), channel=Channel.BACKOFFICE, person_id=person.pk,
                         purpose="test")  # fmt: skip
    assert [i.ref for i in record.next_appointments] == [str(appointment.pk)]


def test_reminder_is_sent_once_and_not_for_a_moved_appointment(insured, site_paris, motive, settings):
    _person, actor = insured
    appointment = book(actor, site_paris, motive, at(next_workday(), 9, 0))
    from omniguichet.appointments.tasks import send_reminder

    assert send_reminder.call(appointment.pk, appointment.start.isoformat()) is True
    assert send_reminder.call(appointment.pk, appointment.start.isoformat()) is False
    assert "reminder" in sent("sms")[-1].body
    assert (
        send_reminder.call(appointment.pk, (appointment.start + dt.timedelta(hours=1)).isoformat()) is False
    )


def test_seed_sites_for_every_caisse(db):
    from omniguichet.appointments.models import AgentAvailability, Site
    from omniguichet.referential.models import Caisse

    created = services.seed_sites()
    caisses = Caisse.objects.count()
    assert created == 5 * caisses == Site.objects.count()
    assert services.seed_sites() == 0
    site = Site.objects.filter(caisse_id="751").first()
    assert site.opening_hours.count() == 10
    assert AgentAvailability.objects.filter(site=site).values("agent").distinct().count() >= 2


def test_seed_command_creates_the_sites(db):
    import io

    from django.core.management import call_command

    from omniguichet.appointments.models import AgentAvailability, Site

    out = io.StringIO()
    call_command("seed", "--persons", "50", "--seed", "1", "--no-progress", stdout=out)
    assert "505 appointment and reception sites" in out.getvalue()
    main = Site.objects.filter(caisse_id="751", name__startswith="Accueil principal").get()
    # The demo agent of the caisse receives at its main site.
    assert AgentAvailability.objects.filter(site=main, agent__username="agent-751").count() == 10


def test_search_sees_a_new_availability_at_once(make_person, site_paris, motive, agent_paris, settings):
    """The weekly pattern is cached for the search, and dropped when an availability changes."""
    from omniguichet.appointments.models import AgentAvailability
    from omniguichet.referential.models import Role
    from tests.conftest import make_user

    settings.APPOINTMENTS_SCHEDULE_CACHE_SECONDS = 600
    agent = Actor.agent(agent_paris)
    day = next_workday()

    def offered():
        slots = services.find_free_slots(actor=agent, channel=Channel.PHONE, motive=motive.pk, site_id=site_paris.pk,
                                         date_from=day, date_to=day, limit=200)  # fmt: skip
        return at(day, 9) in [s.start for s in slots]

    for _ in range(2):
        services.book(actor=agent, channel=Channel.PHONE, person_id=make_person().pk, site_id=site_paris.pk,
                      motive=motive.pk, start=at(day, 9))  # fmt: skip
    assert not offered()
    third = make_user("agent-paris-3", role=Role.RECEPTION_AGENT, caisse=site_paris.caisse)
    AgentAvailability.objects.create(site=site_paris, agent=third, weekday=day.weekday(), starts=dt.time(8, 30),
                                     ends=dt.time(12))  # fmt: skip
    assert offered()


def test_bookings_far_in_the_search_are_seen(make_person, site_paris, motive, agent_paris):
    """Busy periods are read in growing windows: bookings late in the period asked are still taken into account."""
    agent = Actor.agent(agent_paris)
    first, later = next_workday(), next_workday(9)
    taken = [at(first, 16), at(later, 8, 30), at(later, 15, 30)]
    for start in taken:
        for _ in range(2):  # both agents
            services.book(actor=agent, channel=Channel.PHONE, person_id=make_person().pk, site_id=site_paris.pk,
                          motive=motive.pk, start=start)  # fmt: skip
    slots = services.find_free_slots(actor=agent, channel=Channel.PHONE, motive=motive.pk, site_id=site_paris.pk,
                                     date_from=first, date_to=later, limit=200)  # fmt: skip
    starts = {s.start for s in slots}
    assert not starts & set(taken)
    assert at(first, 15, 45) not in starts  # would overlap 16:00
    assert at(first, 15, 30) in starts and at(later, 9) in starts and at(later, 15) in starts


def test_messages_in_french_once_each(insured, site_paris, motive):
    from django.utils import translation

    _person, actor = insured
    appointment = book(actor, site_paris, motive, at(next_workday(), 9, 0))
    with translation.override("fr"):
        services.send_confirmation(appointment.pk, kind="confirmation")
    [sms] = sent("sms")
    [email] = sent("email")
    assert sms.body.count("Présentez ce code à la borne") == 1
    assert email.body.count("Pour l'ajouter à votre agenda (.ics)") == 1
    assert email.body.count("Vous pouvez les déposer dès maintenant dans votre compte") == 1


def test_search_reads_little_once_the_schedule_is_cached(
    make_person, site_paris, motive, agent_paris, settings, django_assert_num_queries
):
    """With the weekly pattern, the caisse's sites and the motive cached, a search that finds its slots on its
    first day reads the closures and one window of busy periods; a new motive duration is seen at once."""
    settings.APPOINTMENTS_SCHEDULE_CACHE_SECONDS = 600
    agent = Actor.agent(agent_paris)
    day = next_workday(2)

    def search():
        return services.find_free_slots(actor=agent, channel=Channel.PHONE, motive=motive.pk, date_from=day,
                                        date_to=day + dt.timedelta(days=30), limit=3)  # fmt: skip

    for _ in range(2):  # both agents busy from 8:45 to 9:15
        services.book(actor=agent, channel=Channel.PHONE, person_id=make_person().pk, site_id=site_paris.pk,
                      motive=motive.pk, start=at(day, 8, 45))  # fmt: skip
    search()
    with django_assert_num_queries(2):
        slots = search()
    assert [s.start for s in slots] == [at(day, 9, 15), at(day, 9, 30), at(day, 9, 45)]
    motive.duration_minutes = 60
    motive.save()
    assert [s.end - s.start for s in search()] == [dt.timedelta(minutes=60)] * 3


@pytest.mark.parametrize("seconds_before", [0, 1, 90])
def test_a_slot_offered_at_the_minimum_delay_is_still_bookable_minutes_later(
    insured, site_paris, motive, monkeypatch, seconds_before
):
    """The load test's one 422 on booking: a slot offered right at the minimum delay (24 h here) was refused a
    moment later, the minimum delay having moved past it. The search keeps a margin (OFFER_HOLD), so a slot it
    offers can be booked during that margin; a booking outside the delay is still refused."""
    _person, actor = insured
    day = next_workday(4)
    nine = at(day, 9, 0)
    # The clock at which 09:00 on that day is exactly (or nearly) the minimum delay away.
    searched_at = nine - dt.timedelta(hours=motive.min_delay_hours, seconds=seconds_before)
    monkeypatch.setattr(timezone, "now", lambda: searched_at)
    [first, *_] = services.find_free_slots(
        actor=actor, channel=Channel.WEB, motive=motive.pk, site_id=site_paris.pk, limit=3
    )
    assert first.start >= searched_at + dt.timedelta(hours=motive.min_delay_hours) + services.OFFER_HOLD
    assert first.start.astimezone(PARIS) == at(day, 9, 15)  # the next grid start past the margin
    booked_at = searched_at + services.OFFER_HOLD - dt.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: booked_at)
    appointment = book(actor, site_paris, motive, first.start)
    assert appointment.start == first.start
    # The 09:00 start itself is inside the minimum delay by then: refused, with the field named.
    with pytest.raises(InvalidInput) as refused:
        book(actor, site_paris, motive, nine)
    assert "start" in refused.value.fields
