"""In chromium, at a kiosk: an identified person touches "send a document", then the document their sick-pay case
waits for, scans (chooses) the file and sends it; the case shows it received; the session ends by itself."""

import datetime as dt

from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.cases.models import PlatformEvent, RequestedDocument
from omniguichet.cases.services import ingest_case_events
from omniguichet.core.actors import Actor
from omniguichet.documents.models import Document
from omniguichet.documents.services import generate_key, seed_baskets
from omniguichet.referential.models import User
from tests.cases.conftest import event
from tests.documents.conftest import make_pdf

PASSWORD = "Un-mot-de-passe-solide-2026"


def test_a_person_deposits_at_the_kiosk_for_their_case(live_server, page, make_person, settings, tmp_path):
    settings.LANGUAGE_CODE = "fr"
    settings.KIOSK_IDLE_SECONDS = 4
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    settings.OMNIGUICHET_DOCUMENT_KEY = generate_key()
    seed_baskets()
    person = make_person(given_names="Marie", family_name="Lefèvre", rights_from=dt.date(2010, 1, 1))
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    past = timezone.now() - dt.timedelta(days=3)
    ingest_case_events(actor=Actor.system("backoffice"), source="test", rows=[
        event("IJ-B1", 1, "opened", {"person_id": person.pk, "case_type": "sick_pay"}, occurred_at=past),
        event("IJ-B1", 2, "document_missing", {"document": "attestation-salaire", "label": "attestation de salaire"},
              occurred_at=past),
    ])  # fmt: skip
    awaited = RequestedDocument.objects.get(case__reference="IJ-B1")
    base = live_server.url

    page.goto(f"{base}/borne/connexion/")
    page.fill("#id_nir", person.nir)
    page.fill("#id_password", PASSWORD)
    page.click("#kiosk-login")
    page.wait_for_url(f"{base}/borne/")
    page.click("#kiosk-documents")
    page.wait_for_url(f"{base}/borne/documents/")
    tile = page.locator(f"[data-purpose='case_request-{awaited.pk}']")
    assert "IJ-B1" in tile.text_content()
    tile.click()
    page.wait_for_url(f"{base}/borne/documents/depot/**")
    assert "attestation de salaire" in page.text_content("#purpose")
    assert page.is_checked("#type-salary_certificate")
    page.set_input_files(
        "#files", files=[{"name": "attestation.pdf", "mimeType": "application/pdf", "buffer": make_pdf(2)}]
    )
    page.click("#deposit-submit")
    page.wait_for_url(f"{base}/borne/documents/")
    assert "1 pièce(s) reçue(s). Merci." in page.text_content("#messages")  # in French
    assert page.locator(f"[data-purpose='case_request-{awaited.pk}']").count() == 0
    document = Document.objects.select_related("item__basket").get()
    assert (document.item.basket.caisse_id, document.item.basket.kind, document.deposit.channel) == (
        person.caisse_id, "ij", "kiosk",
    )  # fmt: skip
    assert PlatformEvent.objects.filter(case=awaited.case, event_type="document_received").exists()
    # Nobody touches the screen any more: back to the identification page by itself.
    page.wait_for_url(f"{base}/borne/connexion/", timeout=10_000)
