"""Secure messaging endpoints: the person's threads in the app (/me/threads) and the agents' queue
(/messaging/threads)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from pydantic import Field

from omniguichet.core.actors import Actor, Channel, insured_actor, staff_actor
from omniguichet.core.api import ErrorOut
from omniguichet.core.errors import InvalidInput
from omniguichet.messaging import services
from omniguichet.messaging.models import MAX_ATTACHMENTS, Message, Thread, ThreadStatus

router = Router(tags=["messaging"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _insured(request: HttpRequest) -> Actor:
    if not request.user.is_authenticated:
        raise AuthenticationError
    return insured_actor(request.user)


def _agent(request: HttpRequest) -> Actor:
    if not request.user.is_authenticated:
        raise AuthenticationError
    return staff_actor(request.user)


class AttachmentIn(Schema):
    name: str = Field(max_length=200)
    content_base64: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int


class MessageOut(Schema):
    id: int
    direction: str
    body: str
    written_at: dt.datetime
    read_at: dt.datetime | None
    attachments: list[AttachmentOut]


class ThreadSummaryOut(Schema):
    id: int
    channel: str
    subject: str
    motive: str
    status: str
    outcome: str
    about: str
    last_message_at: dt.datetime
    deadline: dt.datetime | None


class ThreadOut(ThreadSummaryOut):
    messages: list[MessageOut]


class WrittenOut(Schema):
    """What a person's message made: its conversation (summary) and the message itself."""

    thread: ThreadSummaryOut
    message: MessageOut


class NewThreadIn(Schema):
    motive: str = Field(description="A contact motive code (GET /referential/motives)")
    subject: str = ""
    link: str = Field(
        "", description='One of the person\'s things, "case:REF", "appointment:ID", "teleservice:ID"'
    )
    body: str = Field(description="At most 5,000 characters")
    attachments: list[AttachmentIn] = Field(
        default_factory=list, description=f"At most {MAX_ATTACHMENTS} files"
    )


class FollowUpIn(Schema):
    body: str
    attachments: list[AttachmentIn] = Field(default_factory=list)


class AnswerIn(Schema):
    body: str


class MotiveIn(Schema):
    motive: str


class CloseIn(Schema):
    outcome: str


class AttachIn(Schema):
    person_id: int
    purpose: str = Field(
        description="Why the agent opens the person's record (logged, the person can read it)"
    )


def _message_out(m: Message) -> dict:
    return {
        "id": m.pk, "direction": m.direction, "body": m.body, "written_at": m.created_at, "read_at": m.read_at,
        "attachments": [
            {"id": a.pk, "name": a.name, "content_type": a.content_type, "size": a.size} for a in m.attachments.all()
        ],
    }  # fmt: skip


def _summary(t: Thread) -> dict:
    return {
        "id": t.pk, "channel": t.channel, "subject": t.subject, "motive": t.motive_id, "status": t.status,
        "outcome": t.outcome,
        "about": f"{t.link_kind}:{t.link_ref}" if t.link_kind else "", "last_message_at": t.last_message_at,
        "deadline": t.deadline,
    }  # fmt: skip


def _thread_out(t: Thread) -> dict:
    return {**_summary(t), "messages": [_message_out(m) for m in t.messages.all()]}


def _files(attachments: list[AttachmentIn]) -> list[tuple[str, bytes]]:
    files = []
    for index, item in enumerate(attachments):
        try:
            files.append((item.name, base64.b64decode(item.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            raise InvalidInput.from_fields({f"attachments.{index}": "content_base64: not base64"}) from None
    return files


@router.get("/me/threads", response={200: list[ThreadSummaryOut], **ERRORS}, summary="My conversations")
def my_threads(request: HttpRequest):
    return [_summary(t) for t in services.my_threads(actor=_insured(request))]


@router.post(
    "/me/threads",
    response={200: WrittenOut, 201: WrittenOut, **ERRORS},
    summary="Write to my caisse (a new conversation)",
    description="Optional `Idempotency-Key` header: the same key again answers 200 with the first message's "
    "conversation instead of writing a second message. Files are checked like deposited documents.",
)
def create_thread(request: HttpRequest, payload: NewThreadIn):
    actor = _insured(request)
    key = request.headers.get("Idempotency-Key", "")
    replayed = bool(key) and services.message_exists(actor=actor, idempotency_key=key)
    message = services.write_message(
        actor=actor, channel=Channel.APP, motive=payload.motive, subject=payload.subject, link=payload.link,
        body=payload.body, files=_files(payload.attachments), idempotency_key=key,
    )  # fmt: skip
    return Status(
        200 if replayed else 201, {"thread": _summary(message.thread), "message": _message_out(message)}
    )


@router.get("/me/threads/{thread_id}", response={200: ThreadOut, **ERRORS}, summary="One of my conversations")
def read_thread(request: HttpRequest, thread_id: int):
    return _thread_out(
        services.read_thread(actor=_insured(request), channel=Channel.APP, thread_id=thread_id)
    )


@router.post(
    "/me/threads/{thread_id}/messages",
    response={200: WrittenOut, 201: WrittenOut, **ERRORS},
    summary="Write again in one of my conversations",
)
def follow_up(request: HttpRequest, thread_id: int, payload: FollowUpIn):
    actor = _insured(request)
    key = request.headers.get("Idempotency-Key", "")
    replayed = bool(key) and services.message_exists(actor=actor, idempotency_key=key)
    message = services.write_message(
        actor=actor, channel=Channel.APP, thread_id=thread_id, body=payload.body,
        files=_files(payload.attachments), idempotency_key=key,
    )  # fmt: skip
    return Status(
        200 if replayed else 201, {"thread": _summary(message.thread), "message": _message_out(message)}
    )


@router.get(
    "/messaging/threads",
    response={200: list[ThreadSummaryOut], **ERRORS},
    summary="The conversations of my caisse in one state, oldest deadline first",
    description="`status`: waiting, answered, closed, or to_identify (e-mails of senders not identified yet).",
)
def caisse_threads(request: HttpRequest, status: Query[str] = ThreadStatus.WAITING):
    return [_summary(t) for t in services.queue(actor=_agent(request), status=status)]


@router.get("/messaging/threads/{thread_id}", response={200: ThreadOut, **ERRORS}, summary="A conversation")
def agent_thread(request: HttpRequest, thread_id: int):
    return _thread_out(services.agent_thread(actor=_agent(request), thread_id=thread_id))


@router.post("/messaging/threads/{thread_id}/answer", response={201: ThreadOut, **ERRORS}, summary="Answer")
def answer(request: HttpRequest, thread_id: int, payload: AnswerIn):
    actor = _agent(request)
    services.answer_thread(actor=actor, channel=Channel.BACKOFFICE, thread_id=thread_id, body=payload.body)
    return Status(201, _thread_out(services.agent_thread(actor=actor, thread_id=thread_id)))


@router.post(
    "/messaging/threads/{thread_id}/close", response={200: ThreadSummaryOut, **ERRORS}, summary="Close"
)
def close(request: HttpRequest, thread_id: int, payload: CloseIn):
    actor = _agent(request)
    thread = services.close_thread(
        actor=actor, channel=Channel.BACKOFFICE, thread_id=thread_id, outcome=payload.outcome
    )
    return _summary(thread)


@router.post(
    "/messaging/threads/{thread_id}/attach",
    response={200: ThreadSummaryOut, **ERRORS},
    summary="Attach an unknown sender's e-mail to a person of my caisse",
)
def attach(request: HttpRequest, thread_id: int, payload: AttachIn):
    thread = services.attach_thread(
        actor=_agent(request), channel=Channel.BACKOFFICE, thread_id=thread_id, person_id=payload.person_id,
        purpose=payload.purpose,
    )  # fmt: skip
    return _summary(thread)


@router.post(
    "/messaging/threads/{thread_id}/motive",
    response={200: ThreadSummaryOut, **ERRORS},
    summary="Correct the motive (kept as a labelled example for the classifier)",
)
def correct_motive(request: HttpRequest, thread_id: int, payload: MotiveIn):
    thread = services.correct_motive(
        actor=_agent(request), channel=Channel.BACKOFFICE, thread_id=thread_id, motive=payload.motive
    )
    return _summary(thread)
