"""The sweep of missed appointments (service, task, command; idempotent) and the video link of video
appointments."""

import datetime as dt

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment, Status
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.models import Contact
from omniguichet.reception import services as reception
from tests.appointments.conftest import at, next_workday, sent


def _book(actor, site, motive, hour, **kw):
    return services.book(actor=actor, channel=kw.pop("channel", Channel.WEB), site_id=site.pk, motive=motive,
                         start=at(next_workday(), hour), **kw)  # fmt: skip


def _move_to(appointment, start):
    Appointment.objects.filter(pk=appointment.pk).update(
        start=start, end=start + (appointment.end - appointment.start)
    )


def test_sweep_marks_missed_once_and_records_it(insured, site_paris, make_person, agent_paris):
    person, actor = insured
    agent = Actor.agent(agent_paris)
    now = timezone.now()
    missed = _book(actor, site_paris, "ij_dossier", 9)
    recent = _book(actor, site_paris, "carte_vitale", 10)  # ended, but less than the grace period ago
    waiting = _book(actor, site_paris, "css_demande", 11)  # the person checked in and is still waiting
    future = _book(actor, site_paris, "autre_accueil", 14)
    other = make_person()
    done = services.book(actor=agent, channel=Channel.PHONE, person_id=other.pk, site_id=site_paris.pk,
                         motive="ij_dossier", start=at(next_workday(), 15))  # fmt: skip
    _move_to(missed, now - dt.timedelta(hours=3))
    _move_to(recent, now - dt.timedelta(minutes=30))
    _move_to(waiting, now - dt.timedelta(minutes=5))
    reception.take_ticket(site_id=site_paris.pk, code=waiting.checkin_code)
    _move_to(waiting, now - dt.timedelta(hours=4))
    _move_to(done, now - dt.timedelta(hours=5))
    Appointment.objects.filter(pk=done.pk).update(status=Status.DONE)

    assert services.mark_missed() == 1
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {missed.pk: "missed", recent.pk: "booked", waiting.pk: "booked", future.pk: "booked",
                        done.pk: "done"}  # fmt: skip
    [contact] = Contact.objects.filter(person=person, actor_kind="system")
    assert (contact.subject_kind, contact.subject_ref, contact.outcome) == (
        "appointment",
        str(missed.pk),
        "pending",
    )
    assert contact.note.startswith("Appointment missed") and contact.actor_kind == "system"
    # Replayed (the task, the command): nothing more.
    assert services.mark_missed() == 0
    call_command("mark_missed_appointments")
    assert Contact.objects.filter(actor_kind="system").count() == 1
    # Later, the recent one is missed too (the command and the task call the same service).
    assert services.mark_missed(now=now + dt.timedelta(hours=2)) == 1
    assert Appointment.objects.get(pk=recent.pk).status == "missed"


def test_a_callback_still_to_retry_is_not_missed(make_person, site_paris, agent_paris):
    agent = Actor.agent(agent_paris)
    person = make_person()
    appointment = services.book(actor=agent, channel=Channel.PHONE, person_id=person.pk, site_id=site_paris.pk,
                                motive="remboursement_rappel", start=at(next_workday(), 10),
                                phone="0612345678")  # fmt: skip
    now = timezone.now()
    _move_to(appointment, now - dt.timedelta(hours=2))
    Appointment.objects.filter(pk=appointment.pk).update(callback_attempts=1, retry_after=now)
    assert services.mark_missed() == 0
    assert services.mark_missed(now=now + dt.timedelta(hours=2)) == 1


def test_the_task_sweeps_and_comes_back(insured, site_paris):
    from django_tasks_db.models import DBTaskResult

    from omniguichet.appointments.tasks import start_sweeping, sweep_missed

    _person, actor = insured
    missed = _book(actor, site_paris, "ij_dossier", 9)
    _move_to(missed, timezone.now() - dt.timedelta(hours=3))
    start_sweeping()
    start_sweeping()  # a second worker start does not start a second chain
    assert DBTaskResult.objects.filter(task_path=sweep_missed.module_path).count() == 1
    assert sweep_missed.call() == 1
    again = DBTaskResult.objects.filter(task_path=sweep_missed.module_path).order_by("-enqueued_at").first()
    assert again.run_after is not None and again.run_after > timezone.now()


def test_video_appointment_has_its_own_unguessable_link(
    insured, site_paris, django_capture_on_commit_callbacks
):
    _person, actor = insured
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(actor, site_paris, "reclamation_visio", 10)
    desk = _book(actor, site_paris, "ij_dossier", 9)
    assert appointment.mode == "video" and len(appointment.video_room) >= 32 and desk.video_room == ""
    link = services.video_url(appointment)
    assert link == f"https://omniguichet.test/rendez-vous/visio/{appointment.video_room}/"
    [sms] = sent("sms")
    [email] = sent("email")
    assert link in sms.body and link in email.body
    assert "/rendez-vous/qr/" not in sms.body + email.body  # no kiosk check-in for a video call
    page = Client().get(link.replace("https://omniguichet.test", ""))
    assert page.status_code == 200 and b'id="video-room"' in page.content
    assert Client().get("/rendez-vous/visio/guessed-room/").status_code == 404
    assert Client().get("/rendez-vous/visio/%20/").status_code == 404
    # The API and the record give the link too.
    from tests.crm.conftest import client_for

    got = client_for(actor.user).get(f"/api/v1/appointments/{appointment.pk}").json()
    assert got["video_url"] == link
    moved = services.reschedule(actor=actor, channel=Channel.WEB, appointment_id=appointment.pk,
                                start=at(next_workday(), 10, 30))  # fmt: skip
    assert moved.video_room and moved.video_room != appointment.video_room
    assert [
        i.url for i in services.next_appointments_section(appointment.person) if i.ref == str(moved.pk)
    ] == [services.video_url(moved)]
