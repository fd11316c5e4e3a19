"""Documents to deposit before an appointment: the deposit purpose "appointment" (registered by appointments with
the documents app), linked from the confirmation and the appointment pages."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from omniguichet.appointments import services
from omniguichet.appointments.models import Appointment
from omniguichet.core.actors import Actor, Channel, insured_actor
from omniguichet.core.errors import Conflict, InvalidInput, NotFound
from omniguichet.documents import services as documents
from omniguichet.documents.models import Document
from tests.appointments.conftest import at, insured_login, next_workday, sent
from tests.documents.conftest import _document_settings, make_pdf  # noqa: F401  (documents in tmp_path)


def _book(actor, site, motive="ij_dossier", hour=9):
    return services.book(actor=actor, channel=Channel.WEB, site_id=site.pk, motive=motive,
                         start=at(next_workday(), hour))  # fmt: skip


def test_the_confirmation_links_to_the_deposit_and_the_person_deposits(
    insured, site_paris, django_capture_on_commit_callbacks
):
    person, actor = insured
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(actor, site_paris)
    link = f"https://omniguichet.test/compte/documents/depot/?kind=appointment&ref={appointment.pk}"
    [email] = sent("email")
    assert link in email.body
    purpose = documents.describe_purpose(actor=actor, kind="appointment", ref=str(appointment.pk))
    assert purpose.expected_types == ("sick_leave_form", "salary_certificate")
    assert purpose.is_open and purpose.deadline == appointment.start and purpose.processing_hint == "ij"
    result = documents.deposit_documents(
        actor=actor, channel=Channel.WEB, purpose_kind="appointment", purpose_ref=str(appointment.pk),
        document_type="sick_leave_form", files=[("arret.pdf", make_pdf())],
    )  # fmt: skip
    [document] = result.documents
    stored = Document.objects.get(pk=document.pk)
    assert (stored.purpose_kind, stored.purpose_ref, stored.person_id) == (
        "appointment",
        str(appointment.pk),
        person.pk,
    )
    # A type the motive does not ask for is refused.
    with pytest.raises(InvalidInput):
        documents.deposit_documents(
            actor=actor, channel=Channel.WEB, purpose_kind="appointment", purpose_ref=str(appointment.pk),
            document_type="birth_certificate", files=[("acte.pdf", make_pdf())],
        )  # fmt: skip


def test_the_deposit_page_of_the_appointment(insured, site_paris):
    person, actor = insured
    appointment = _book(actor, site_paris)
    client = Client()
    client.force_login(person.account.user)
    detail = client.get(f"/compte/rendez-vous/{appointment.pk}/")
    assert f"/compte/documents/depot/?kind=appointment&amp;ref={appointment.pk}".encode() in detail.content
    page = client.get(f"/compte/documents/depot/?kind=appointment&ref={appointment.pk}")
    assert page.status_code == 200 and b"sick_leave_form" in page.content


def test_another_persons_or_a_closed_appointment_is_refused(insured, site_paris, make_person, agent_paris):
    person, actor = insured
    appointment = _book(actor, site_paris)
    stranger = insured_actor(insured_login(make_person()))
    for ref in (str(appointment.pk), "999999", "x1"):
        with pytest.raises(NotFound):
            documents.describe_purpose(actor=stranger, kind="appointment", ref=ref)
    # A motive without documents to deposit has no purpose (and no link).
    callback = services.book(actor=Actor.agent(agent_paris), channel=Channel.PHONE, person_id=person.pk,
                             site_id=site_paris.pk, motive="remboursement_rappel", start=at(next_workday(), 10),
                             phone="0612345678")  # fmt: skip
    assert services.deposit_url(callback) == ""
    with pytest.raises(NotFound):
        documents.describe_purpose(actor=actor, kind="appointment", ref=str(callback.pk))
    # Once the appointment is over (or cancelled), deposits for it are refused.
    past = timezone.now() - dt.timedelta(hours=2)
    Appointment.objects.filter(pk=appointment.pk).update(start=past, end=past + dt.timedelta(minutes=30))
    with pytest.raises(Conflict):
        documents.deposit_documents(
            actor=actor, channel=Channel.WEB, purpose_kind="appointment", purpose_ref=str(appointment.pk),
            document_type="sick_leave_form", files=[("arret.pdf", make_pdf())],
        )  # fmt: skip


def test_the_persons_appointments_are_listed_among_their_deposit_purposes(
    insured, site_paris, make_person, django_assert_num_queries
):
    """The lister of the "appointment" purpose (issue 6): the person's documents page, the kiosk and the API list
    the booked appointments whose motive asks for documents, in one query; not another person's, not a cancelled
    or past one, not one whose motive asks for nothing."""
    person, actor = insured
    appointment = _book(actor, site_paris)
    with django_assert_num_queries(1):
        listed = services.list_deposit_purposes(person)
    assert [(p.kind, p.ref) for p in listed] == [("appointment", str(appointment.pk))]
    assert listed[0].purpose.expected_types == ("sick_leave_form", "salary_certificate")
    found = documents.open_purposes(actor=actor)
    assert ("appointment", str(appointment.pk)) in [(p.kind, p.ref) for p in found]
    client = Client()
    client.force_login(person.account.user)
    page = client.get("/compte/documents/")
    assert f'data-purpose="appointment-{appointment.pk}"'.encode() in page.content
    # Nothing for another person; nothing once the appointment is cancelled or over.
    stranger = make_person()
    assert services.list_deposit_purposes(stranger) == []
    past = timezone.now() - dt.timedelta(hours=2)
    Appointment.objects.filter(pk=appointment.pk).update(start=past, end=past + dt.timedelta(minutes=30))
    assert services.list_deposit_purposes(person) == []
    Appointment.objects.filter(pk=appointment.pk).update(
        start=at(next_workday(), 9), end=at(next_workday(), 9) + dt.timedelta(minutes=30), status="cancelled"
    )
    assert services.list_deposit_purposes(person) == []
