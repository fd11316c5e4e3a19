"""In chromium: at a kiosk, the session ends by itself after the idle time, without anyone touching it."""

import datetime as dt

from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.referential.models import User

PASSWORD = "Un-mot-de-passe-solide-2026"


def test_kiosk_session_ends_after_inactivity(live_server, page, make_person, settings):
    settings.LANGUAGE_CODE = "fr"
    settings.KIOSK_IDLE_SECONDS = 2
    person = make_person(given_names="Marie", family_name="Lefèvre", rights_from=dt.date(2010, 1, 1))
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())

    page.goto(f"{live_server.url}/borne/connexion/")
    page.fill("#id_nir", person.nir)
    page.fill("#id_password", PASSWORD)
    page.click("#kiosk-login")
    page.wait_for_url(f"{live_server.url}/borne/")
    assert page.is_visible("#kiosk-attestation_droits")
    # Nobody touches the screen: back to the identification page by itself.
    page.wait_for_url(f"{live_server.url}/borne/connexion/", timeout=6_000)
    page.goto(f"{live_server.url}/borne/")
    assert page.url == f"{live_server.url}/borne/connexion/"
