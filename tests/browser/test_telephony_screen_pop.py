"""In chromium: an agent keeps the telephony page open; the phone platform reports that they answered a call of an
identified caller, and the page opens the caller's record by itself (within 3 s: it polls every 2 s), with the
voice-menu choice as the motive and the access audited as an incoming call."""

import datetime as dt
import time

from django.utils import timezone

from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.models import RecordAccess
from omniguichet.referential.models import ContactPoint, Role
from omniguichet.telephony.services import ingest_events
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user


def test_answer_opens_the_record_in_the_agents_browser(
    live_server, page, make_person, caisse_paris, settings
):
    settings.LANGUAGE_CODE = "fr"
    agent = make_user("tel-751", role=Role.PHONE_AGENT, caisse=caisse_paris)
    person = make_person(family_name="Lefèvre", given_names="Marie")
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    page.goto(f"{live_server.url}/agent/telephonie/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "not-used-here-123")
    page.press("#id_password", "Enter")
    give_second_factor(page, agent.username)
    page.wait_for_url(f"{live_server.url}/agent/telephonie/")
    assert "En attente d'un appel" in page.text_content("#screen-pop")

    t0 = timezone.now() - dt.timedelta(seconds=40)
    base = {"call_id": "browser-1", "from": "06 98 76 54 32", "to": "3646", "direction": "inbound"}
    lines = [
        {**base, "event": "new", "at": t0.isoformat()},
        {**base, "event": "ivr", "at": (t0 + dt.timedelta(seconds=10)).isoformat(), "ivr_choice": "3"},
        {**base, "event": "queued", "at": (t0 + dt.timedelta(seconds=12)).isoformat()},
        {**base, "event": "answer", "at": timezone.now().isoformat(), "agent": agent.username},
    ]
    started = time.monotonic()
    ingest_events(actor=Actor.system("test"), channel=Channel.BACKOFFICE, rows=lines)
    page.wait_for_url(f"**/agent/persons/{person.pk}/**", timeout=3_000)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert "LEFÈVRE Marie" in page.inner_text("#identity")
    assert page.eval_on_selector("#motive", "el => el.value") == "carte_vitale"
    access = RecordAccess.objects.get(person=person)
    assert (access.user, access.purpose) == (agent, "Appel entrant")


def test_the_poll_pauses_before_the_idle_end_of_the_session(live_server, page, caisse_paris, settings):
    """The 2 s poll does not keep an unattended staff session alive: it pauses, says so, and the next activity
    reloads the page, which asks for the login again once the session has ended."""
    settings.LANGUAGE_CODE = "fr"
    settings.STAFF_SESSION_IDLE_SECONDS = 8  # the page pauses its poll after 4 s without activity
    agent = make_user("tel-751", role=Role.PHONE_AGENT, caisse=caisse_paris)
    page.goto(f"{live_server.url}/agent/telephonie/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "not-used-here-123")
    page.press("#id_password", "Enter")
    give_second_factor(page, agent.username)
    page.wait_for_url(f"{live_server.url}/agent/telephonie/")
    assert page.get_attribute("#screen-pop", "data-pause-after") == "4"
    page.wait_for_selector("#screen-pop-paused", state="visible", timeout=8_000)
    page.wait_for_timeout(5_000)  # past the session's idle end
    page.mouse.move(10, 10)
    page.wait_for_url("**/agent/login/**")
