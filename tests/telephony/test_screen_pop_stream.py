"""The screen-pop pushed as server-sent events (telephony/stream.py): under ASGI through the push process's hub,
from a thread of a WSGI server that has threads to spare, and refused with 204 by gunicorn's sync workers (the
page then polls)."""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient, Client
from django.urls import reverse

from omniguichet.telephony import stream
from omniguichet.telephony.models import Call
from tests.conftest import make_user
from tests.telephony.test_screen_pop import answered, logged

STREAM = "/agent/telephonie/flux/"


def _events(response, count: int) -> list[str]:
    """The first `count` chunks of a WSGI stream (each chunk is one event or comment)."""
    # Not closed here: the test client closes it when the iterator goes, with the test's connection kept.
    chunks = iter(response.streaming_content)
    return [next(chunks).decode() for _ in range(count)]


def test_the_page_offers_the_stream_and_keeps_the_poll(phone_agent):
    html = logged(phone_agent).get("/agent/telephonie/").content.decode()
    assert f'data-stream-url="{STREAM}"' in html
    assert 'hx-trigger="every 2s"' in html  # the fallback where no push process serves the stream


def test_the_stream_is_for_staff(paris_person):
    assert Client().get(STREAM).status_code == 302  # to the login page
    insured = make_user("someone", role="", caisse=None)
    insured.is_staff = False
    insured.save()
    assert logged(insured).get(STREAM).status_code in {302, 403}


def test_gunicorns_sync_workers_refuse_the_stream_with_204(phone_agent, settings):
    settings.SCREEN_POP_WSGI_STREAM = False
    response = logged(phone_agent).get(STREAM)
    assert response.status_code == 204  # the browser's EventSource stops; the page polls


def test_a_wsgi_thread_streams_the_answered_callers_record(paris_person, phone_agent, settings, monkeypatch):
    settings.SCREEN_POP_WSGI_STREAM = True
    monkeypatch.setattr(stream, "TICK", 0.01)
    call_id = answered(ivr="3")
    response = logged(phone_agent).get(STREAM)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-store"
    preamble, event = _events(response, 2)
    assert preamble.startswith("retry: 1000\n")
    lines = event.splitlines()
    assert lines[0] == "event: redirect"
    assert lines[1].startswith(f"data: {reverse('crm:record', args=[paris_person.pk])}?")
    assert "motive=carte_vitale" in lines[1]
    assert Call.objects.get(call_id=call_id).popped_at is not None  # claimed: the poll will not open it again
    assert logged(phone_agent).get("/agent/telephonie/appel/", HTTP_HX_REQUEST="true").status_code == 204


def test_an_unknown_caller_is_pushed_as_html_with_the_number_masked(db, phone_agent, settings, monkeypatch):
    settings.SCREEN_POP_WSGI_STREAM = True
    monkeypatch.setattr(stream, "TICK", 0.01)
    answered(caller="+33611223344")  # no verified contact point has this number
    _, event = _events(logged(phone_agent).get(STREAM), 2)
    assert event.startswith("event: unknown\ndata: ")
    assert event.endswith("\n\n")
    html = "\n".join(line.removeprefix("data: ") for line in event.splitlines()[1:])
    assert 'id="unknown-caller"' in html and "06 11 22 33 ••" in html
    assert "+33611223344" not in event


def test_another_agents_call_is_not_pushed(paris_person, phone_agent, caisse_paris, settings, monkeypatch):
    settings.SCREEN_POP_WSGI_STREAM = True
    monkeypatch.setattr(stream, "LIFETIME_SECONDS", 0.3)
    monkeypatch.setattr(stream, "TICK", 0.05)
    make_user("tel-paris-2", role="phone_agent", caisse=caisse_paris)
    call_id = answered(agent="tel-paris-2")
    chunks = [c.decode() for c in logged(phone_agent).get(STREAM).streaming_content]
    assert chunks == [stream.preamble()]  # the stream ended after its lifetime with nothing for this agent
    assert Call.objects.get(call_id=call_id).popped_at is None


@pytest.fixture
def _hubs_closed():
    yield
    stream.close_hubs()  # the hub's thread keeps a connection: PostgreSQL could not drop the test database


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_hubs_closed")
def test_under_asgi_the_hub_wakes_the_agent_within_a_tick(paris_person, phone_agent):
    """The push process: the stream is a coroutine; the hub's one query per tick finds the call answered after the
    console connected, and the record's address is pushed at once."""
    client = logged(phone_agent)

    async def scenario() -> tuple[str, str, float]:
        push = AsyncClient()
        push.cookies = client.cookies
        response = await push.get(STREAM)
        assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
        events = response.streaming_content.__aiter__()
        first = (await anext(events)).decode()
        await asyncio.sleep(0.3)  # the console is listening, nothing to show yet
        await sync_to_async(answered, thread_sensitive=False)()
        started = time.monotonic()
        second = (await asyncio.wait_for(anext(events), timeout=5)).decode()
        waited = time.monotonic() - started
        await events.aclose()
        return first, second, waited

    first, second, waited = async_to_sync(scenario)()
    assert first == stream.preamble()
    assert second.startswith("event: redirect\ndata: " + reverse("crm:record", args=[paris_person.pk]))
    assert waited < 2.0  # a tick is 0.2 s; generous for a loaded machine
    assert Call.objects.get(popped_at__isnull=False)
