"""The home page says what each space is for and links to it; the demo logins show only in debug mode once the
demo users exist (issue 15, part 5)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from omniguichet.demo.services import DEMO_AGENT_PASSWORD, DEMO_SUPERVISOR_PASSWORD, ensure_demo_users

FALSE_PROMISES = ("coming soon", "bientôt", "prochainement", "à venir", "lorem", "todo")


def _home(language: str) -> str:
    response = Client().get("/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _tile_link(html: str, tile: str) -> str:
    match = re.search(rf'id="{tile}".*?<a href="([^"]+)"', html, re.S)
    assert match, f"no link in the {tile} tile"
    return match.group(1)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_tiles_link_to_the_spaces_that_exist(db, language):
    html = _home(language)
    for word in FALSE_PROMISES:
        assert word not in html.lower(), word
    account, console = _tile_link(html, "tile-account"), _tile_link(html, "tile-console")
    assert (account, console) == ("/compte/", "/agent/")
    for href in (account, console, "/api/v1/docs", "/admin/"):
        try:
            resolve(href)
        except Resolver404:  # pragma: no cover - the assertion says which
            pytest.fail(f"{href} resolves to no page")
    # Anonymous visitors land on the login page of each space.
    assert Client().get(account).url.startswith("/compte/connexion/")
    assert Client().get(console).url.startswith("/agent/login/")


def test_the_tiles_say_who_each_space_is_for_and_how_to_log_in(db):
    html = _home("en")
    assert "For insured persons" in html and "Log in with your social security number" in html
    assert "For caisse staff" in html and "Log in with your agent account" in html
    html = _home("fr")
    assert "Pour les assurés" in html and "numéro de sécurité sociale et votre mot de passe" in html
    assert "Pour le personnel des caisses" in html and "compte d'agent" in html


def test_no_demo_logins_outside_debug_mode(db, settings):
    ensure_demo_users()
    settings.DEBUG = False
    html = _home("en")
    assert 'id="demo-logins"' not in html and DEMO_AGENT_PASSWORD not in html


def test_no_demo_logins_without_the_demo_users(db, settings):
    settings.DEBUG = True
    assert 'id="demo-logins"' not in _home("en")


def test_demo_logins_in_debug_mode_once_seeded(db, settings, make_person):
    from omniguichet.accounts.models import Account
    from omniguichet.referential.models import User

    ensure_demo_users()
    person = make_person()
    user = User.objects.create(username=person.nir)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    settings.DEBUG = True
    html = _home("en")
    assert 'id="demo-logins"' in html
    assert "agent-751" in html and DEMO_AGENT_PASSWORD in html
    assert "supervisor" in html and DEMO_SUPERVISOR_PASSWORD in html
    assert person.nir in html and "demo-assure-2026" in html
    assert 'href="/compte/connexion/"' in html and 'href="/agent/login/"' in html
    assert "Identifiants de démonstration" in _home("fr")
