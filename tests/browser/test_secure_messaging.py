"""In chromium: a person writes to their caisse with a file from the web account; an agent of the caisse takes the
conversation, answers from a reply template; the person reads the answer, and a notice of it waits in the ledger."""

from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.documents.services import generate_key
from omniguichet.messaging.models import Message, ReplyTemplate, Thread
from omniguichet.outreach.models import OutboundMessage
from omniguichet.referential.models import ContactPoint, User
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user
from tests.documents.conftest import make_pdf

PASSWORD = "Un-mot-de-passe-solide-2026"
AGENT_PASSWORD = "not-used-here-123"


def test_a_person_writes_an_agent_answers_with_a_template(
    live_server, page, make_person, caisse_paris, settings, tmp_path
):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    settings.OMNIGUICHET_DOCUMENT_KEY = generate_key()
    settings.OMNIGUICHET_CLAMD_SOCKET = ""
    person = make_person(given_names="Claire", family_name="Martin")
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    make_user("agent-751", caisse=caisse_paris)
    ReplyTemplate.objects.update_or_create(
        code="etat",
        defaults={"label": "État de la demande", "body": "Bonjour {full_name}, votre demande est en cours."},
    )
    base = live_server.url

    # 1. The person writes, with a PDF.
    page.goto(f"{base}/compte/messages/")
    page.fill("#id_nir", person.nir)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/compte/messages/")
    page.click("#write-message")
    page.select_option("#id_motive", "remboursement")
    page.fill("#id_subject", "Remboursement du 3 novembre")
    page.fill("#id_body", "Bonjour, je n'ai pas reçu le remboursement de ma consultation du 3 novembre.")
    page.set_input_files(
        "#id_files", files=[{"name": "decompte.pdf", "mimeType": "application/pdf", "buffer": make_pdf()}]
    )
    page.click("#send")
    page.wait_for_selector("#thread-subject")
    thread = Thread.objects.get(person=person)
    assert page.inner_text("#thread-subject") == "Remboursement du 3 novembre"
    assert "decompte.pdf" in page.inner_text("#messages")

    # 2. An agent of the caisse takes it and answers from a template.
    agent = page.context.browser.new_context(locale="fr-FR").new_page()
    agent.goto(f"{base}/agent/messages/")
    agent.fill("#id_username", "agent-751")
    agent.fill("#id_password", AGENT_PASSWORD)
    agent.press("#id_password", "Enter")
    give_second_factor(agent, "agent-751")
    agent.wait_for_url(f"{base}/agent/messages/")
    agent.click(f"#thread-{thread.pk} a")
    agent.click("#claim")
    agent.wait_for_selector("#use-template")
    agent.select_option("#modele", "etat")
    agent.click("#use-template")
    assert agent.input_value("#id_body") == "Bonjour Claire Martin, votre demande est en cours."
    agent.click("#send-answer")
    agent.wait_for_selector("#thread-status")
    assert "répondu" in agent.inner_text("#thread-status").lower()

    # 3. The person reads the answer; the notice went to the ledger (SMS: the person's verified mobile).
    page.reload()
    assert "votre demande est en cours" in page.inner_text("#messages")
    assert Message.objects.get(thread=thread, direction="outbound").read_at is not None
    notice = OutboundMessage.objects.get(person=person)
    assert notice.channel == "sms" and "votre demande" not in notice.body
