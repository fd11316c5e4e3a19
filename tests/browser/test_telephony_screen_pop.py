"""In chromium: an agent keeps the telephony page open; the phone platform reports that they answered a call of an
identified caller, and the page opens the caller's record by itself, with the voice-menu choice as the motive and
the access audited as an incoming call: pushed by the push process (ASGI, server-sent events), or polled every 2 s
where the server refuses the stream (gunicorn's sync workers)."""

import datetime as dt
import time

from django.utils import timezone

from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.models import RecordAccess
from omniguichet.referential.models import ContactPoint, Role
from omniguichet.telephony.services import ingest_events
from tests.browser.conftest import give_second_factor
from tests.conftest import make_user


def _agent_waiting(page, base: str, make_person, caisse_paris):
    agent = make_user("tel-751", role=Role.PHONE_AGENT, caisse=caisse_paris)
    person = make_person(family_name="Lefèvre", given_names="Marie")
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    polls: list[str] = []
    page.on(
        "request", lambda request: polls.append(request.url) if "/telephonie/appel/" in request.url else None
    )
    page.goto(f"{base}/agent/telephonie/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "not-used-here-123")
    page.press("#id_password", "Enter")
    give_second_factor(page, agent.username)
    page.wait_for_url(f"{base}/agent/telephonie/")
    assert "En attente d'un appel" in page.text_content("#screen-pop")
    return agent, person, polls


def _answer(agent) -> float:
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
    return started


def _record_opened(page, agent, person) -> None:
    assert "LEFÈVRE Marie" in page.inner_text("#identity")
    assert page.eval_on_selector("#motive", "el => el.value") == "carte_vitale"
    access = RecordAccess.objects.get(person=person)
    assert (access.user, access.purpose) == (agent, "Appel entrant")


def test_answer_pushes_the_record_to_the_agents_browser(
    asgi_server, page, make_person, caisse_paris, settings
):
    """The production path: the page and its stream served under ASGI; the record opens from the pushed event,
    without a single poll."""
    settings.LANGUAGE_CODE = "fr"
    agent, person, polls = _agent_waiting(page, asgi_server, make_person, caisse_paris)
    page.wait_for_selector('#screen-pop[data-stream="open"]', timeout=5_000)
    started = _answer(agent)
    page.wait_for_url(f"**/agent/persons/{person.pk}/**", timeout=3_000)
    elapsed = time.monotonic() - started
    assert (
        elapsed < 2.0
    )  # a tick of 0.2 s and the record's page; the bench measures the p99 (bench.telephony)
    assert polls == []  # the stream, not the poll, opened it
    _record_opened(page, agent, person)


def test_answer_opens_the_record_by_polling_where_the_stream_is_refused(
    live_server, page, make_person, caisse_paris, settings
):
    settings.LANGUAGE_CODE = "fr"
    settings.SCREEN_POP_WSGI_STREAM = False  # as under gunicorn: the stream answers 204
    agent, person, polls = _agent_waiting(page, live_server.url, make_person, caisse_paris)
    page.wait_for_selector('#screen-pop[data-stream="poll"]', timeout=5_000)

    started = _answer(agent)
    page.wait_for_url(f"**/agent/persons/{person.pk}/**", timeout=3_000)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0  # a poll every 2 s
    assert polls  # the poll opened it
    _record_opened(page, agent, person)


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
