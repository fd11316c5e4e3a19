"""Secure messaging pages: the person's (write with a file, read, answer) and the agents' (queue, template,
answer, close), with the anonymous / wrong role / other caisse cases first."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from omniguichet.messaging.models import Message, ReplyTemplate, Thread
from tests.documents.conftest import make_pdf
from tests.messaging.conftest import logged


def _write(client, **extra):
    data = {
        "motive": "remboursement",
        "subject": "Remboursement",
        "body": "Bonjour, où en est mon remboursement ?",
    }
    data.update(extra)
    return client.post("/compte/messages/nouveau/", data)


def test_pages_need_the_right_login(insured, agent_paris):
    _person, user = insured
    response = Client().get("/compte/messages/nouveau/")
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    response = Client().get("/agent/messages/")
    assert response.status_code == 302 and "login" in response["Location"]
    assert logged(user).get("/agent/messages/").status_code == 403
    assert logged(agent_paris).get("/compte/messages/nouveau/").status_code == 302


def test_person_writes_with_a_file_and_reads_the_answer(insured, agent_paris, reachable):
    _person, user = insured
    person_client = logged(user)
    page = person_client.get("/compte/messages/nouveau/")
    assert page.status_code == 200 and "Remboursement de soins" in page.content.decode()
    response = _write(person_client, files=[SimpleUploadedFile("decompte.pdf", make_pdf())])
    thread = Thread.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/compte/messages/conversation/{thread.pk}/"
    )
    assert thread.messages.get().attachments.count() == 1
    # The inbox lists the conversation next to what the platform sent.
    assert "Remboursement" in person_client.get("/compte/messages/").content.decode()

    agent = logged(agent_paris)
    queue = agent.get("/agent/messages/").content.decode()
    assert f"/agent/messages/{thread.pk}/" in queue
    ReplyTemplate.objects.create(code="bonjour", label="Bonjour", body="Bonjour {full_name}, c'est en cours.")
    page = agent.get(f"/agent/messages/{thread.pk}/?modele=bonjour").content.decode()
    assert "Bonjour Claire Martin, c&#x27;est en cours." in page
    assert (
        agent.post(
            f"/agent/messages/{thread.pk}/repondre/", {"body": "Bonjour Claire, c'est en cours."}
        ).status_code
        == 302
    )
    shown = person_client.get(f"/compte/messages/conversation/{thread.pk}/").content.decode()
    assert "c&#x27;est en cours." in shown
    assert Message.objects.filter(thread=thread, direction="outbound", read_at__isnull=False).count() == 1


def test_the_form_answers_every_field(insured):
    _person, user = insured
    response = _write(logged(user), motive="", body="", files=[SimpleUploadedFile("a.zip", b"PK\x03\x04zz")])
    assert response.status_code == 422
    body = response.content.decode()
    assert "choisir" in body.lower() or "choose" in body.lower()
    assert response.context["form"].errors.keys() >= {"motive", "body"}
    assert not Thread.objects.exists()


def test_other_caisse_agent_and_other_person_get_404(insured, ain_insured, agent_ain):
    _person, user = insured
    _write(logged(user))
    thread = Thread.objects.get()
    assert logged(agent_ain).get(f"/agent/messages/{thread.pk}/").status_code == 404
    assert logged(agent_ain).post(f"/agent/messages/{thread.pk}/repondre/", {"body": "x"}).status_code == 404
    _other, other_user = ain_insured
    assert logged(other_user).get(f"/compte/messages/conversation/{thread.pk}/").status_code == 404
    attachment_free = Message.objects.filter(direction="outbound").count()
    assert attachment_free == 0


def test_closing_from_the_page_needs_an_outcome(insured, agent_paris):
    _person, user = insured
    _write(logged(user))
    thread = Thread.objects.get()
    agent = logged(agent_paris)
    response = agent.post(f"/agent/messages/{thread.pk}/clore/", {"outcome": ""})
    assert response.status_code == 422 and "outcome" in response.context["close_form"].errors
    assert agent.post(f"/agent/messages/{thread.pk}/clore/", {"outcome": "no_action"}).status_code == 302
    assert Thread.objects.get().status == "closed"


def test_the_record_timeline_links_to_the_conversation(insured, agent_paris):
    person, user = insured
    _write(logged(user))
    thread = Thread.objects.get()
    page = (
        logged(agent_paris)
        .get(f"/agent/persons/{person.pk}/", {"purpose": "Visit at the reception desk"})
        .content.decode()
    )
    assert f"/agent/messages/{thread.pk}/" in page


def test_the_agent_corrects_the_subject_from_the_page(insured, agent_paris, agent_ain):
    from omniguichet.crm.models import LabelledExample

    _person, user = insured
    _write(logged(user))
    thread = Thread.objects.get()
    assert 'id="motive-form"' in logged(agent_paris).get(f"/agent/messages/{thread.pk}/").content.decode()
    assert logged(agent_ain).post(f"/agent/messages/{thread.pk}/objet/", {"motive": "css"}).status_code == 404
    assert (
        logged(agent_paris).post(f"/agent/messages/{thread.pk}/objet/", {"motive": "css"}).status_code == 302
    )
    assert Thread.objects.get().motive_id == "css" and LabelledExample.objects.get().motive_id == "css"
