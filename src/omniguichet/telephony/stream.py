"""The screen-pop pushed to the agent's console as server-sent events (issue 17, section 6: from `answer` to the
record shown, p99 ≤ 1 s; a 2 s poll cannot give that).

In production the stream is served by the push process, Django under ASGI (`uvicorn omniguichet.asgi:application`,
started by `serve --production`; the reverse proxy sends `/agent/telephonie/flux/` to it, deploy/nginx.conf). There a
connection is a coroutine, not a worker: one `ScreenPopHub` per process asks the database, every `TICK`, which of
the agents listening on it have a call to open, in ONE query whatever their number, and wakes only those.

Under WSGI (gunicorn's sync workers) a held connection would hold a whole worker per agent: the stream answers 204
there, which tells the browser's EventSource to stop, and the page falls back to its 2 s poll. The development
server and the tests' live server have threads to spare: with `SCREEN_POP_WSGI_STREAM` (on when DEBUG) they stream
from the request's thread, asking the database every `TICK` for that agent alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections
from django.template.loader import render_to_string
from django.utils import translation

from omniguichet.core.actors import Actor
from omniguichet.telephony import services

logger = logging.getLogger(__name__)

# How often the database is asked for new answered calls (the wait it adds: TICK / 2 on average, TICK at most).
TICK = 0.2
# A comment line now and then keeps proxies from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
# A stream ends after this; the browser reconnects by itself (`retry`), which checks the login again, so a stream
# never outlives the staff session by more than this.
LIFETIME_SECONDS = 120.0
RETRY_MILLISECONDS = 1000


def preamble() -> str:
    return f"retry: {RETRY_MILLISECONDS}\n: screen-pop\n\n"


def pop_event(*, actor: Actor, language: str) -> str | None:
    """The next screen-pop of this agent as one server-sent event, or None: `redirect` with the record's address for
    an identified caller, `unknown` with the HTML to show otherwise. Claims the call (once, as the poll does)."""
    pop = services.next_screen_pop(actor=actor)
    if pop is None:
        return None
    if pop.person_id is not None:
        return f"event: redirect\ndata: {services.record_url(pop)}\n\n"
    with translation.override(language):
        html = render_to_string(
            "telephony/_unknown_caller.html", {"pop": pop, "search": services.search_url()}
        )
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines())
    return f"event: unknown\n{data}\n"


def _call_db(function, /, **kwargs):
    """A database call from the push process's own thread: a connection closed by the server is replaced."""
    close_old_connections()
    return function(**kwargs)


class ScreenPopHub:
    """The agents listening on this process, woken when the database has a call for them. One per event loop."""

    def __init__(self) -> None:
        self._listeners: dict[int, set[asyncio.Event]] = {}
        self._task: asyncio.Task | None = None
        # One thread for every database call of the push process: its connection stays open between ticks.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screen-pop")

    def subscribe(self, agent_id: int) -> asyncio.Event:
        wake = asyncio.Event()
        wake.set()  # a call answered before the page connected is shown at once
        self._listeners.setdefault(agent_id, set()).add(wake)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())
        return wake

    def unsubscribe(self, agent_id: int, wake: asyncio.Event) -> None:
        listeners = self._listeners.get(agent_id)
        if listeners is not None:
            listeners.discard(wake)
            if not listeners:
                del self._listeners[agent_id]

    @property
    def listening(self) -> int:
        return sum(len(events) for events in self._listeners.values())

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._listeners:
            try:
                pending = await loop.run_in_executor(
                    self.executor,
                    lambda: _call_db(services.agents_with_pending_pop, agent_ids=list(self._listeners)),
                )
            except Exception:  # the database away for a moment: the streams stay open, the next tick retries
                logger.exception("screen-pop: the database could not be read")
                pending = set()
            for agent_id in pending:
                for wake in self._listeners.get(agent_id, ()):
                    wake.set()
            await asyncio.sleep(TICK)


_hubs: dict[asyncio.AbstractEventLoop, ScreenPopHub] = {}


def hub() -> ScreenPopHub:
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = ScreenPopHub()
    return _hubs[loop]


def close_hubs() -> None:
    """Close the hubs' database connections and threads (a test between runs; a push process stopping)."""
    for the_hub in list(_hubs.values()):
        if the_hub._task is not None and not the_hub._task.done():
            with contextlib.suppress(RuntimeError):  # its loop has ended already
                the_hub._task.get_loop().call_soon_threadsafe(the_hub._task.cancel)
        the_hub.executor.submit(connections.close_all).result(timeout=10)
        the_hub.executor.shutdown(wait=True)
    _hubs.clear()


async def stream_async(*, actor: Actor, language: str) -> AsyncIterator[str]:
    """The events of one agent's console, under ASGI."""
    assert actor.user is not None
    yield preamble()
    the_hub = hub()
    loop = asyncio.get_running_loop()
    wake = the_hub.subscribe(actor.user.pk)
    try:
        ends = loop.time() + LIFETIME_SECONDS
        while (left := ends - loop.time()) > 0:
            try:
                await asyncio.wait_for(wake.wait(), timeout=min(KEEPALIVE_SECONDS, left))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            wake.clear()
            event = await loop.run_in_executor(
                the_hub.executor, lambda: _call_db(pop_event, actor=actor, language=language)
            )
            if event is not None:
                yield event
    finally:
        the_hub.unsubscribe(actor.user.pk, wake)


def stream_sync(*, actor: Actor, language: str) -> Iterator[str]:
    """The same events from a thread of the development server (or the tests' live server)."""
    yield preamble()
    ends = time.monotonic() + LIFETIME_SECONDS
    quiet_since = time.monotonic()
    while time.monotonic() < ends:
        event = pop_event(actor=actor, language=language)
        if event is not None:
            yield event
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        time.sleep(TICK)
