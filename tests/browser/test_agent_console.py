"""In chromium: an agent logs in, searches by phone, opens the record, adds a phone contact in two keystrokes,
and sees it at the top of the timeline."""

import datetime as dt

from django.utils import timezone

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.crm.models import Contact, RecordAccess
from omniguichet.crm.services import record_contact
from omniguichet.referential.models import ContactPoint
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user


def test_agent_finds_a_caller_and_records_the_call(live_server, page, make_person, caisse_paris, settings):
    settings.LANGUAGE_CODE = "fr"
    agent = make_user("agent-751", caisse=caisse_paris)
    person = make_person(family_name="Lefèvre", given_names="Marie")
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    insured = Actor(kind=ActorKind.INSURED, person_id=person.pk)
    record_contact(
        actor=insured,
        channel="web",
        person=person,
        motive="attestation_droits",
        started_at=timezone.now() - dt.timedelta(days=2),
    )

    page.goto(f"{live_server.url}/agent/")
    assert "/agent/login/" in page.url
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "not-used-here-123")
    page.press("#id_password", "Enter")
    give_second_factor(page, agent.username)
    page.wait_for_url(f"{live_server.url}/agent/")

    page.keyboard.press("/")
    page.keyboard.type("06 98 76 54 32")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-result]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/agent/persons/{person.pk}/**")
    assert "LEFÈVRE Marie" in page.inner_text("#identity")
    # What the person did online is shown as such.
    assert "fait en ligne par l'assuré" in page.text_content("#timeline")

    page.keyboard.press("t")  # a phone call: the form opens on the motive
    page.select_option("#motive", "carte_vitale")
    page.keyboard.press("Enter")  # records it
    page.wait_for_function("document.querySelector('#timeline li').innerText.includes('Carte Vitale')")
    top = page.text_content("#timeline li:first-child")
    assert "Carte Vitale — téléphone" in top and "agent-751" in top

    contact = Contact.objects.get(channel="phone")
    assert (contact.person, contact.agent, contact.motive_id, contact.caisse_id) == (
        person,
        agent,
        "carte_vitale",
        "751",
    )
    assert RecordAccess.objects.filter(person=person, user=agent).count() == 1
