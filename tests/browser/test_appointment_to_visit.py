"""In chromium, from booking to the desk: a person books in their account, the outbound message ledger sends the
SMS confirmation (the SMS file provider holds it) with its QR code link, the QR code read from the page gives a
ticket at the kiosk, the waiting-room display shows the number (never the name), the agent calls next and sees
the record, closes the visit, and the timeline shows the booking and the visit with its waiting time."""

import datetime as dt
import io
import json
import re

import zxingcpp
from django.test import Client
from django.utils import timezone
from PIL import Image

from omniguichet.accounts.models import Account
from omniguichet.appointments.models import Appointment, AppointmentMotive
from omniguichet.crm.models import Contact
from omniguichet.outreach.models import OutboundMessage
from omniguichet.outreach.services import drain
from omniguichet.reception.models import Ticket
from omniguichet.referential.models import ContactPoint, Role
from tests.appointments.conftest import make_site
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user

PASSWORD = "not-used-here-123"


def _login(page, base, username, next_url):
    page.goto(f"{base}/agent/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    give_second_factor(page, username)
    page.wait_for_url(f"{base}{next_url}")


def test_book_check_in_call_and_close(live_server, page, make_person, caisse_paris, settings, tmp_path):
    settings.LANGUAGE_CODE = "fr"
    settings.OUTREACH_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTREACH_SMS_PROVIDER = "file"
    settings.OUTREACH_SMS_QUIET_FROM, settings.OUTREACH_SMS_QUIET_UNTIL = 24, 0  # no quiet hours in this test
    settings.OMNIGUICHET_PUBLIC_URL = live_server.url
    base = live_server.url
    agent = make_user("accueil-751", role=Role.RECEPTION_AGENT, caisse=caisse_paris)
    site = make_site(caisse_paris, [agent], name="Accueil Paris 11e")
    person = make_person(family_name="Lefèvre", given_names="Marie")
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    login = make_user("marie-lefevre", role="")
    Account.objects.create(person=person, user=login, opened_at=timezone.now())

    # 1. The person books from their account (logged in as the account app would: a session of their login).
    client = Client()
    client.force_login(login)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
          "url": base}]
    )  # fmt: skip
    page.goto(f"{base}/compte/rendez-vous/")
    page.select_option("#motive", "ij_dossier")
    page.select_option("#site", str(site.pk))
    page.wait_for_load_state("networkidle")  # the slot list is reloaded after each choice
    page.wait_for_selector("#slots input[name=slot]", state="attached")
    # The first slot a few minutes clear of the motive's minimum delay: one at its very edge may fall inside it
    # between the search and the click (a refusal then, rightly).
    clear_of = timezone.now() + dt.timedelta(hours=AppointmentMotive.objects.get(pk="ij_dossier").min_delay_hours,
                                             minutes=5)  # fmt: skip
    first_slot = next(
        slot
        for slot in page.locator("#slots input[name=slot]").all()
        if dt.datetime.fromisoformat(slot.get_attribute("value").split("|")[1]) >= clear_of
    )
    page.click(f"label[for={first_slot.get_attribute('id')}]")
    assert first_slot.is_checked()
    page.click("#book")
    page.wait_for_url(re.compile(r".*/compte/rendez-vous/\d+/$"))
    appointment = Appointment.objects.get(person=person)
    assert appointment.checkin_code in page.inner_text("#appointment-summary")

    # 2. The confirmation is in the outbound message ledger; its dispatcher hands it to the SMS provider (here
    # the file sink), which holds it with its QR code link.
    [queued] = OutboundMessage.objects.filter(person=person, channel="sms")
    assert queued.idempotency_key == f"send:appointment:{appointment.pk}:confirmation:sms"
    drain()
    [sms] = [json.loads(line) for line in (tmp_path / "outbox" / "sms.jsonl").read_text().splitlines()]
    qr_link = f"{base}/rendez-vous/qr/{appointment.checkin_code}/"
    assert sms["to"] == "+33698765432" and qr_link in sms["text"] and sms["key"] == queued.idempotency_key
    page.goto(qr_link)
    assert page.locator(".og-qr svg").count() == 1
    # The QR code as the kiosk's camera would see it: a screenshot of what chromium drew, decoded.
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator(".og-qr svg").screenshot())))
    assert decoded.format == zxingcpp.BarcodeFormat.QRCode and decoded.text == appointment.checkin_code
    assert "Lefèvre" not in page.content() and "LEFÈVRE" not in page.content()

    # The appointment is for a later day (booking delays): the visit happens on its day, here made today.
    # Five minutes from now, unless that is already tomorrow in Paris (CI ran this just before midnight once).
    start = timezone.now() + dt.timedelta(minutes=5)
    if timezone.localdate(start) != timezone.localdate():
        start = timezone.now()
    Appointment.objects.filter(pk=appointment.pk).update(start=start, end=start + dt.timedelta(minutes=30))

    # 3. The waiting-room display, open the whole time on its own screen.
    display = page.context.browser.new_context(locale="fr-FR").new_page()
    display.goto(f"{base}/reception/{site.pk}/display")

    # 4. At the kiosk, the code from the confirmation gives a ticket.
    kiosk = page.context.browser.new_context(locale="fr-FR").new_page()
    kiosk.goto(f"{base}/reception/{site.pk}/kiosk")
    kiosk.fill("#code", decoded.text)  # what the QR code holds
    kiosk.click("#take-ticket")
    number = kiosk.inner_text("#ticket-number").strip()
    assert number == "R001"
    display.wait_for_function("document.querySelector('#waiting-count').innerText.startsWith('1 ')")
    # The visitor waited 7 minutes (the arrival is moved back rather than the test waiting).
    Ticket.objects.filter(number=number).update(arrived_at=timezone.now() - dt.timedelta(minutes=7))

    # 5. The agent calls next: the person's record opens at once.
    desk = page.context.browser.new_context(locale="fr-FR").new_page()
    _login(desk, base, agent.username, f"/reception/{site.pk}/desk")
    desk.fill("#desk", "Guichet 2")
    desk.click("#call-next")
    desk.wait_for_url(re.compile(rf".*/agent/persons/{person.pk}/.*"))
    assert "LEFÈVRE Marie" in desk.inner_text("#identity")

    # 6. The display shows the number called, live, and never the name.
    display.wait_for_function(f"document.querySelector('#called').innerText.includes('{number}')")
    board = display.inner_text("body")
    assert "Guichet 2" in board
    for secret in ("Lefèvre", "LEFÈVRE", "Marie", person.nir):
        assert secret not in display.content()

    # 7. The agent closes the visit with its outcome, from the record of the person served.
    assert number in desk.inner_text("#visit-in-progress")
    desk.select_option("#visit-outcome", "resolved")
    desk.fill("#visit-note", "Dossier complet")
    desk.click("#record-close-visit-button")
    desk.wait_for_selector("#visit-in-progress", state="detached")
    visit = Contact.objects.get(channel="reception")
    assert visit.on_appointment is True and 7 * 60 - 5 <= visit.waited_seconds <= 7 * 60 + 30

    # 8. The timeline (the record the agent is back on) shows the booking and the visit with its waiting time.
    assert desk.url.startswith(f"{base}/agent/persons/{person.pk}/")
    visit_line = desk.inner_text(f"[data-contact-id='{visit.pk}']")
    assert f"attente de {visit.waited_seconds} s" in visit_line and "sur rendez-vous" in visit_line
    booking = Contact.objects.get(channel="web", subject_kind="appointment")
    booking_line = desk.inner_text(f"[data-contact-id='{booking.pk}']")
    assert "fait en ligne par l'assuré" in booking_line.lower() and "Rendez-vous pris" in booking_line
    assert Ticket.objects.get().status == "closed"
    appointment.refresh_from_db()
    assert appointment.status == "done"
