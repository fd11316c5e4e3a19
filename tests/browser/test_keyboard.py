"""In chromium, with the keyboard only (Tab, Enter, Space, arrows, the consoles' shortcut keys; no click): the check-in
at a site's reception kiosk, the self-service kiosk from identification to a certificate and the end of the session,
and the reception desk calling the next visitor and closing the visit. Reaching a control by Tab is part of what is
tested: tab_to() fails when a control is not in the tab order. (The agent's search and the recording of a call with
the keyboard are in test_agent_console.py.)"""

import datetime as dt

from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.appointments.models import Appointment, Mode
from omniguichet.reception.models import Ticket
from omniguichet.reception.services import take_ticket
from omniguichet.referential.models import Role, User
from omniguichet.teleservices.models import TeleserviceRequest
from tests.appointments.conftest import make_site
from tests.conftest import make_user

PASSWORD = "Un-mot-de-passe-solide-2026"


def tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus (fails if the tab order never reaches it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reached with Tab from {page.url}")


def test_reception_kiosk_check_in_with_the_keyboard_only(
    live_server, page, make_person, caisse_paris, settings
):
    settings.LANGUAGE_CODE = "fr"
    agent = make_user("accueil-751", role=Role.RECEPTION_AGENT, caisse=caisse_paris)
    site = make_site(caisse_paris, [agent], name="Accueil Paris 11e")
    person = make_person()
    now = timezone.now()
    Appointment.objects.create(
        person=person, caisse=caisse_paris, site=site, motive_id="ij_dossier", agent=agent, mode=Mode.DESK,
        start=now, end=now + dt.timedelta(minutes=30), booked_channel="web", checkin_code="KBD12345",
    )  # fmt: skip
    kiosk = f"{live_server.url}/reception/{site.pk}/kiosk"

    # With an appointment: the code field has the focus on arrival; type (or scan) the code, Enter.
    page.goto(kiosk)
    assert page.evaluate("document.activeElement.id") == "code"
    page.keyboard.type("KBD12345")
    page.keyboard.press("Enter")
    page.wait_for_url(kiosk)
    number = page.text_content("#ticket-number")
    assert number.startswith("R") and Ticket.objects.get(number=number).person == person
    tab_to(page, "a[href$='/kiosk']")  # "Terminé": back to the kiosk for the next visitor
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk-form")

    # Without identification: the motive chosen with the arrows, priority ticked with Space, the button with Enter.
    tab_to(page, "#motive")
    page.keyboard.press("ArrowDown")
    tab_to(page, "#priority")
    page.keyboard.press("Space")
    assert page.is_checked("#priority")
    tab_to(page, "#take-ticket")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ticket-number")
    assert page.text_content("#ticket-number").startswith("P")


def test_self_service_kiosk_with_the_keyboard_only(live_server, page, make_person, settings):
    settings.LANGUAGE_CODE = "fr"
    person = make_person(rights_from=dt.date(2010, 1, 1))
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    base = live_server.url

    page.goto(f"{base}/borne/connexion/")
    tab_to(page, "#id_nir")
    page.keyboard.type(person.nir)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/borne/")
    tab_to(page, "#kiosk-attestation_droits")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/borne/services/attestation_droits/")
    tab_to(page, "#service-submit")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/borne/demandes/**")
    assert TeleserviceRequest.objects.get(person=person).channel == "kiosk"
    assert page.is_visible("#download-pdf")
    tab_to(page, "#kiosk-end button")  # "Terminer": the session ends at once
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/borne/connexion/")
    page.goto(f"{base}/borne/")
    assert page.url == f"{base}/borne/connexion/"


def test_reception_call_next_with_the_keyboard(live_server, page, make_person, caisse_paris, settings):
    settings.LANGUAGE_CODE = "fr"
    agent = make_user("accueil-751", role=Role.RECEPTION_AGENT, caisse=caisse_paris)
    site = make_site(caisse_paris, [agent], name="Accueil Paris 11e")
    person = make_person(family_name="Lefèvre", given_names="Marie")
    ticket = take_ticket(site_id=site.pk, nir=person.nir, birth_date=person.birth_date, motive="autre")
    base = live_server.url

    # The agent logs in: the username field has the focus; Tab to the password; Enter.
    page.goto(f"{base}/agent/login/?next=/reception/")
    assert page.evaluate("document.activeElement.id") == "id_username"
    page.keyboard.type(agent.username)
    page.keyboard.press("Tab")
    page.keyboard.type("not-used-here-123")
    page.keyboard.press("Enter")
    # The second factor: the code of the authenticator app, typed; Enter.
    page.wait_for_url("**/agent/login/code/**")
    from omniguichet.core import staff_otp

    tab_to(page, "#id_code")
    page.keyboard.type(staff_otp.current_code(staff_otp.device_for(agent).device))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/reception/")
    tab_to(page, f"a[href='/reception/{site.pk}/desk']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/reception/{site.pk}/desk")
    tab_to(page, "#call-next")
    page.keyboard.press("Enter")
    # The visitor was identified at the kiosk: their record opens, with the visit in progress.
    page.wait_for_url(f"{base}/agent/persons/{person.pk}/**")
    assert ticket.number in page.text_content("#visit-in-progress")
    tab_to(page, "#visit-note")
    page.keyboard.type("Attestation remise en main propre")
    tab_to(page, "#record-close-visit-button")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/agent/persons/{person.pk}/**")
    page.wait_for_selector("#visit-in-progress", state="detached")
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.called_by == agent
    assert "Attestation remise en main propre" in page.text_content("#timeline")
