"""The agent's telephony page: it opens the caller's record by itself, pushed as server-sent events (the stream
below) or, where no push process serves them, polled every 2 s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from omniguichet.core.actors import Actor
from omniguichet.core.web import agent_required
from omniguichet.telephony import services, stream


@require_GET
@agent_required
def console(request: HttpRequest, actor: Actor) -> HttpResponse:
    # The poll pauses before the staff session's idle end (static/telephony/console.js): 2 minutes before it, or
    # halfway through a short one.
    idle = settings.STAFF_SESSION_IDLE_SECONDS
    context = {"calls": services.calls_of_agent(actor=actor), "pause_after": max(idle - 120, idle // 2)}
    return render(request, "telephony/console.html", context)


@require_GET
@agent_required
def screen_pop(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Polled by the page: 204 when nothing is new; the caller's record (HX-Redirect) when the agent has just
    answered an identified caller; otherwise what the agent may see of the caller, and a link to search."""
    pop = services.next_screen_pop(actor=actor)
    if pop is None:
        return HttpResponse(status=204)
    if pop.person_id is not None:
        response = HttpResponse(status=200)
        response["HX-Redirect"] = services.record_url(pop)
        return response
    return render(request, "telephony/_unknown_caller.html", {"pop": pop, "search": services.search_url()})


@require_GET
@agent_required
def screen_pop_stream(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    """The screen-pop as server-sent events (telephony/stream.py): under ASGI (the push process), or from a thread
    of a WSGI server that has threads to spare (SCREEN_POP_WSGI_STREAM). Otherwise 204, which stops the browser's
    EventSource: the page then polls `screen_pop`."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    events: AsyncIterator[str] | Iterator[str]
    if isinstance(request, ASGIRequest):
        events = stream.stream_async(actor=actor, language=language)
    elif settings.SCREEN_POP_WSGI_STREAM:
        events = stream.stream_sync(actor=actor, language=language)
    else:
        return HttpResponse(status=204)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    return response
