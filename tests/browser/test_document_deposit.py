"""In chromium: a person deposits bank details during the change-of-bank-details online service, an agent of the
person's caisse finds the document in the reimbursements basket and accepts it; an agent of another caisse cannot
see it."""

from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.baskets.models import WorkItem
from omniguichet.documents.models import Document
from omniguichet.documents.services import generate_key, seed_baskets
from omniguichet.referential.models import User
from omniguichet.teleservices.models import TeleserviceRequest
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user
from tests.documents.conftest import make_pdf

PASSWORD = "not-used-here-123"


def login(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}{next_url}")
    assert "/agent/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    give_second_factor(page, username)
    page.wait_for_url(f"{base}{next_url}")


def test_deposit_then_processing_in_the_right_basket(
    live_server, page, make_person, caisse_paris, caisse_ain, settings, tmp_path
):
    settings.LANGUAGE_CODE = "fr"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    settings.OMNIGUICHET_DOCUMENT_KEY = generate_key()
    seed_baskets()
    person = make_person(family_name="Martin", given_names="Claire")
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    agent = make_user("agent-751", role="backoffice_agent", caisse=caisse_paris)
    other = make_user("agent-011", role="backoffice_agent", caisse=caisse_ain)
    base = live_server.url

    # The person, in their account, uses the change-of-bank-details service and sends their bank details with it.
    page.goto(f"{base}/compte/services/changement_rib/")
    assert "/compte/connexion/" in page.url  # the online account's own login
    page.fill("#id_nir", person.nir)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/compte/services/changement_rib/")
    assert page.text_content("#service-title") == "Changement de coordonnées bancaires"
    page.fill("#id_iban", "FR76 3000 6000 0112 3456 7890 189")
    page.fill("#id_holder", "Claire Martin")
    page.set_input_files(
        "#id_rib_document", files=[{"name": "rib.pdf", "mimeType": "application/pdf", "buffer": make_pdf()}]
    )
    page.click("#service-submit")
    page.wait_for_url(f"{base}/compte/demandes/*/")
    request = TeleserviceRequest.objects.get(person=person, service="changement_rib")
    page.goto(f"{base}/compte/documents/")
    assert "rib.pdf" in page.text_content("#my-documents")
    document = Document.objects.select_related("item__basket").get()
    assert (document.item.basket.caisse_id, document.item.basket.kind) == ("751", "remboursements")
    assert (document.purpose_kind, document.purpose_ref) == ("teleservice", str(request.pk))
    page.context.clear_cookies()

    # An agent of the Paris caisse finds it in the reimbursements basket, opens it and accepts it.
    login(page, base, agent.username, "/agent/baskets/")
    row = page.locator("#baskets tr[data-basket='remboursements']")
    assert row.locator("[data-count]").text_content() == "1"
    row.locator("a").click()
    item = WorkItem.objects.get(kind="document", subject_id=document.pk)
    page.wait_for_selector(f"tr[data-item='{item.pk}']")
    page.wait_for_load_state("load")  # the keyboard script is deferred: bound once the page has loaded
    # Keyboard: j = first document, x = select it, c = claim the selection.
    page.keyboard.press("j")
    page.wait_for_selector(f"tr[data-item='{item.pk}'].og-focus")
    page.keyboard.press("x")
    assert page.is_checked(f"#select-{item.pk}")
    with page.expect_navigation():
        page.keyboard.press("c")
    assert "agent-751" in page.text_content(f"tr[data-item='{item.pk}']")
    document = Document.objects.select_related("item__claimed_by").get(pk=document.pk)
    assert (document.state, document.item.claimed_by) == ("claimed", agent)
    page.wait_for_load_state("load")
    page.keyboard.press("j")  # then open it: j, Enter
    page.wait_for_selector(f"tr[data-item='{item.pk}'].og-focus")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/agent/baskets/documents/{document.pk}/")
    assert page.get_attribute("#record-link", "href").startswith(f"/agent/persons/{person.pk}/")
    assert page.get_attribute("#viewer", "src") == f"/agent/baskets/documents/{document.pk}/file/"
    page.click("#accept")
    page.wait_for_url(f"**/agent/baskets/{document.item.basket_id}/")
    assert page.locator(f"tr[data-item='{item.pk}']").count() == 0
    document.refresh_from_db()
    assert (document.status, document.decided_by) == ("accepted", agent)
    page.context.clear_cookies()

    # An agent of another caisse sees neither the basket nor the document.
    login(page, base, other.username, "/agent/baskets/")
    assert "751" not in page.text_content("#baskets")
    response = page.goto(f"{base}/agent/baskets/documents/{document.pk}/")
    assert response.status == 404
    response = page.goto(f"{base}/agent/baskets/documents/{document.pk}/file/")
    assert response.status == 404
