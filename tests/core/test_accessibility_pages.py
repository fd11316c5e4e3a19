"""The accessibility statement the DSFR footer links to, and the error pages: French by default, English on
request, with the language of the page on <html>."""

import re

from django.test import Client

from tests.conftest import make_user


def test_the_footer_links_to_the_accessibility_statement(db, settings):
    settings.LANGUAGE_CODE = "fr"
    home = Client().get("/").content.decode()
    link = re.search(r'href="/accessibilite/"[^>]*>\s*Accessibilité\s*:\s*non conforme', home)
    assert link, "the footer's accessibility mention links to the statement and says non-compliant"
    page = Client().get("/accessibilite/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="fr"' in html and "<title>Déclaration d'accessibilité — omniguichet</title>" in html
    # Honest about what was checked and how, and where to turn.
    for words in ("non conforme", "RGAA 4.1", "axe-core", "Aucun audit", "clavier seul", "Schéma pluriannuel",
                  "Défenseur des droits", "36 46", "Libre réponse 71120"):  # fmt: skip
        assert words in html, words


def test_the_statement_in_english(db):
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accessibilite/").content.decode()
    assert '<html lang="en"' in html and "Accessibility statement" in html and "not compliant" in html


def test_error_pages_are_pages_of_the_platform(db, settings):
    settings.LANGUAGE_CODE = "fr"
    missing = Client().get("/cette-page-n-existe-pas/")
    html = missing.content.decode()
    assert missing.status_code == 404 and '<html lang="fr"' in html and "Page non trouvée" in html
    insured = Client()
    insured.force_login(make_user("someone", role=""))
    refused = insured.get("/agent/")
    html = refused.content.decode()
    assert refused.status_code == 403 and '<html lang="fr"' in html and "<title>Accès refusé" in html
    assert "La console agent est réservée" in html  # the reason, translated


def test_api_docs_name_their_language(db):
    html = Client().get("/api/v1/docs").content.decode()
    assert '<html lang="en">' in html and "<title>" in html
