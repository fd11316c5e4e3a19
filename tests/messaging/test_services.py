"""Secure messaging rules: writing (checks before anything is written), the contact in the record, the clock,
answers and their notice through the ledger, closing, the 30-day reopening rule, other caisses."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict, InvalidInput, NotFound
from omniguichet.crm.models import Contact
from omniguichet.messaging import services
from omniguichet.messaging.models import Attachment, Message, ReplyTemplate, Thread, ThreadStatus
from omniguichet.messaging.validators import validate_reply_template
from omniguichet.outreach.models import OutboundMessage
from tests.documents.conftest import make_pdf, stored_files


def write(actor, **kwargs):
    kwargs.setdefault("channel", "web")
    kwargs.setdefault("body", "Bonjour, je n'ai pas reçu mon remboursement du 3 novembre.")
    if "thread_id" not in kwargs:
        kwargs.setdefault("motive", "remboursement")
    return services.write_message(actor=actor, **kwargs)


@pytest.fixture
def agent(agent_paris):
    return Actor.agent(agent_paris)


def test_a_message_opens_a_thread_with_its_deadline_and_a_contact(insured_actor, insured):
    person, _user = insured
    message = write(insured_actor, subject="Remboursement manquant")
    thread = message.thread
    assert (thread.person_id, thread.caisse_id, thread.status) == (person.pk, "751", ThreadStatus.WAITING)
    assert thread.subject == "Remboursement manquant"
    assert thread.deadline - thread.waiting_since == dt.timedelta(hours=48)
    contact = Contact.objects.get(person=person)
    assert (contact.channel, contact.direction, contact.subject_kind, contact.subject_ref) == (
        "secure_message", "inbound", "message", str(thread.pk),
    )  # fmt: skip
    assert contact.outcome == "pending"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"body": "   "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"motive": ""}, "motive"),
        ({"motive": "no-such-motive"}, "motive"),
        ({"link": "case:NOT-MINE"}, "link"),
        ({"subject": "s" * 151}, "subject"),
        ({"files": [("virus.exe", b"MZ\x90\x00" + b"\0" * 100)]}, "files"),
        ({"files": [("a.pdf", make_pdf())] * 6}, "files"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_nothing_written(
    insured_actor, _document_settings, kwargs, field
):
    with pytest.raises(InvalidInput) as refused:
        write(insured_actor, **kwargs)
    assert field in refused.value.fields
    assert not Thread.objects.exists() and not Message.objects.exists() and not Contact.objects.exists()
    assert stored_files(_document_settings) == []


def test_attachments_are_checked_and_stored_encrypted(insured_actor, _document_settings):
    pdf = make_pdf(2)
    message = write(insured_actor, files=[("releve.pdf", pdf)])
    [attachment] = Attachment.objects.filter(message=message)
    assert (attachment.name, attachment.content_type, attachment.pages) == (
        "releve.pdf",
        "application/pdf",
        2,
    )
    [stored] = stored_files(_document_settings)
    assert pdf not in stored.read_bytes() and b"%PDF" not in stored.read_bytes()  # encrypted at rest
    found, content = services.read_attachment(actor=insured_actor, attachment_id=attachment.pk)
    assert found == attachment and content == pdf


def test_a_pdf_with_a_script_is_refused(insured_actor):
    with pytest.raises(InvalidInput) as refused:
        write(insured_actor, files=[("a.pdf", make_pdf(javascript=True))])
    assert "files" in refused.value.fields


def test_the_idempotency_key_writes_one_message(insured_actor):
    first = write(insured_actor, idempotency_key="k-1")
    again = write(insured_actor, idempotency_key="k-1")
    assert first.pk == again.pk and Message.objects.count() == 1 and Contact.objects.count() == 1


def test_another_persons_thread_is_not_found(insured_actor, ain_insured):
    person, user = ain_insured
    other = Actor(kind="insured", user=user, person_id=person.pk, label=user.username)
    thread = write(other).thread
    with pytest.raises(NotFound):
        write(insured_actor, thread_id=thread.pk)
    with pytest.raises(NotFound):
        services.read_thread(actor=insured_actor, channel="web", thread_id=thread.pk)
    assert Message.objects.count() == 1


def test_link_to_own_case(insured_actor, insured):
    from django.utils import timezone

    from omniguichet.cases.models import Case

    person, _user = insured
    now = timezone.now()
    Case.objects.create(
        reference="IJ-2026-001", case_type="sick_pay", person=person, caisse_id="751", status="in_progress",
        expected_decision_on=dt.date(2026, 12, 20), opened_at=now, updated_at=now,
    )  # fmt: skip
    [linkable] = [
        item for item in services.linkable_subjects(actor=insured_actor) if item.value.startswith("case:")
    ]
    thread = write(insured_actor, link=linkable.value).thread
    assert (thread.link_kind, thread.link_ref) == ("case", "IJ-2026-001")
    ReplyTemplate.objects.create(
        code="t", label="t", body="Dossier {case_reference} : {case_status}, {decision_date}"
    )
    agent = Actor.system()
    text = services.template_context(Thread.objects.select_related("person", "caisse").get(pk=thread.pk))
    assert text["case_reference"] == "IJ-2026-001" and text["decision_date"] == "20 décembre 2026"
    assert agent  # the system actor is not needed to read the context


def test_answer_stops_the_clock_records_a_contact_and_queues_a_notice(
    insured_actor, agent, reachable, django_capture_on_commit_callbacks
):
    person, _user = reachable
    thread = write(insured_actor).thread
    with pytest.raises(InvalidInput) as refused:
        services.answer_thread(actor=agent, channel="web", thread_id=thread.pk, body="")
    assert "body" in refused.value.fields
    with pytest.raises(NotFound):  # an agent of another caisse
        services.answer_thread(
            actor=Actor.agent(_agent_of_ain()), channel="web", thread_id=thread.pk, body="Oui"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_thread(
            actor=agent, channel="web", thread_id=thread.pk, body="Votre paiement part demain."
        )
    thread.refresh_from_db()
    assert (thread.status, thread.deadline, thread.waiting_since) == (ThreadStatus.ANSWERED, None, None)
    answer = Contact.objects.get(person=person, direction="outbound", channel="secure_message")
    assert answer.responded_at is not None and answer.agent_id == agent.user.pk
    [notice] = OutboundMessage.objects.filter(person=person)
    assert notice.channel == "sms" and "answered your message" in notice.body
    assert "paiement" not in notice.body  # the answer itself is read in the account only


def _agent_of_ain():
    from omniguichet.referential.models import Caisse
    from tests.conftest import make_user

    return make_user("agent-ain-x", caisse=Caisse.objects.get(code="011"))


def test_the_person_writing_again_restarts_the_clock(insured_actor, agent):
    thread = write(insured_actor).thread
    services.answer_thread(actor=agent, channel="web", thread_id=thread.pk, body="Réponse.")
    write(insured_actor, thread_id=thread.pk, body="Merci, mais encore une question.")
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING and thread.deadline is not None
    assert thread.deadline - thread.waiting_since == dt.timedelta(hours=48)


def test_closing_asks_an_outcome_and_reopens_within_30_days_only(insured_actor, agent):
    thread = write(insured_actor).thread
    with pytest.raises(InvalidInput) as refused:
        services.close_thread(actor=agent, channel="web", thread_id=thread.pk, outcome="")
    assert "outcome" in refused.value.fields
    services.close_thread(actor=agent, channel="web", thread_id=thread.pk, outcome="resolved")
    with pytest.raises(Conflict):
        services.answer_thread(actor=agent, channel="web", thread_id=thread.pk, body="trop tard")
    # Within 30 days: the same thread opens again.
    again = write(insured_actor, thread_id=thread.pk, body="Finalement non.")
    assert again.thread_id == thread.pk
    thread.refresh_from_db()
    assert (thread.status, thread.outcome, thread.closed_at) == (ThreadStatus.WAITING, "", None)
    # Closed 31 days ago: a new thread on the same subject.
    services.close_thread(actor=agent, channel="web", thread_id=thread.pk, outcome="resolved")
    Thread.objects.filter(pk=thread.pk).update(closed_at=thread.last_message_at - dt.timedelta(days=31))
    later = write(insured_actor, thread_id=thread.pk, body="Nouvelle question.")
    assert later.thread_id != thread.pk
    assert later.thread.subject == thread.subject and later.thread.motive_id == thread.motive_id
    assert Thread.objects.get(pk=thread.pk).status == ThreadStatus.CLOSED


def test_queue_is_of_the_agents_caisse_oldest_deadline_first(insured_actor, agent, ain_insured):
    person, user = ain_insured
    other = Actor(kind="insured", user=user, person_id=person.pk, label=user.username)
    first = write(insured_actor).thread
    second = write(insured_actor, motive="attestation_droits").thread
    write(other)
    Thread.objects.filter(pk=second.pk).update(deadline=first.deadline - dt.timedelta(hours=1))
    assert [t.pk for t in services.queue(actor=agent)] == [second.pk, first.pk]
    counts = services.queue_counts(actor=agent)
    assert (counts.waiting, counts.overdue) == (2, 0)
    Thread.objects.filter(pk=first.pk).update(deadline=first.deadline - dt.timedelta(days=3))
    assert services.queue_counts(actor=agent).overdue == 1
    with pytest.raises(NotFound):
        services.agent_thread(actor=Actor.agent(_agent_of_ain()), thread_id=first.pk)


def test_claim_by_another_agent_conflicts(insured_actor, agent):
    from tests.conftest import make_user

    thread = write(insured_actor).thread
    services.claim_thread(actor=agent, channel="web", thread_id=thread.pk)
    colleague = Actor.agent(make_user("colleague-751", caisse=agent.user.caisse))
    with pytest.raises(Conflict):
        services.claim_thread(actor=colleague, channel="web", thread_id=thread.pk)


def test_reply_template_is_validated_on_the_model(db):
    template = ReplyTemplate(code="x", label="x", body="Bonjour {full_name}, votre {iban}")
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert "iban" in str(refused.value)


@given(st.text(max_size=300))
def test_reply_template_validator_accepts_or_explains(text):
    try:
        validate_reply_template(text)
    except ValidationError as exc:
        assert exc.messages and exc.messages[0]


def test_an_agents_correction_of_the_motive_is_kept_as_a_labelled_example(insured_actor, agent, tmp_path):
    import json

    from django.core.management import call_command

    from omniguichet.crm.models import LabelledExample

    thread = write(
        insured_actor, motive="autre", body="Je voudrais ma carte européenne pour les vacances."
    ).thread
    Thread.objects.filter(pk=thread.pk).update(suggested_motive="autre", suggestion_confidence=0.41)
    with pytest.raises(InvalidInput) as refused:
        services.correct_motive(actor=agent, channel="web", thread_id=thread.pk, motive="nope")
    assert "motive" in refused.value.fields
    with pytest.raises(NotFound):
        services.correct_motive(actor=Actor.agent(_agent_of_ain()), channel="web", thread_id=thread.pk,
                                motive="carte_europeenne")  # fmt: skip
    assert not LabelledExample.objects.exists()
    services.correct_motive(actor=agent, channel="web", thread_id=thread.pk, motive="carte_europeenne")
    services.correct_motive(
        actor=agent, channel="web", thread_id=thread.pk, motive="carte_europeenne"
    )  # no-op
    assert Thread.objects.get(pk=thread.pk).motive_id == "carte_europeenne"
    [example] = LabelledExample.objects.all()
    assert (example.motive_id, example.suggested, example.confidence, example.source) == (
        "carte_europeenne", "autre", 0.41, "secure_message",
    )  # fmt: skip
    assert "carte européenne" in example.body and example.agent_id == agent.user.pk
    out = tmp_path / "corrections.jsonl"
    call_command("export_corrections", "--out", str(out))
    [line] = out.read_text().splitlines()
    assert json.loads(line) == {"subject": thread.subject, "body": example.body, "motive": "carte_europeenne"}
