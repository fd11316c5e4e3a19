"""What a person does in their secure messaging: write (a new thread or the next message of one, with files),
read their threads and the answers, and fetch an attached file. Every message is a contact of the record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.crm.models import Direction, Motive, Outcome, Person, SubjectKind
from omniguichet.crm.services import active_motives, deadline_and_due_soon, record_contact
from omniguichet.messaging.models import (
    MAX_ATTACHMENTS,
    MAX_BODY,
    REOPEN_DAYS,
    WORK_ITEM_KIND,
    Attachment,
    LinkKind,
    Message,
    Thread,
    ThreadStatus,
)
from omniguichet.messaging.services.items import thread_waits
from omniguichet.messaging.validators import validate_message_body

SUBJECT_MAX = 150


@dataclass(frozen=True)
class Linkable:
    """One of the person's own things a message may be about: `value` is "kind:ref" as the forms send it."""

    value: str
    label: str


def person_of(actor: Actor) -> Person:
    if actor.kind != ActorKind.INSURED or actor.person_id is None:
        raise Forbidden(_("only the person themselves writes and reads their messages"))
    return Person.objects.select_related("caisse").get(pk=actor.person_id)


def motives() -> list[Motive]:
    """The managed list of subjects a person chooses from (the referential's active contact motives)."""
    return list(Motive.objects.filter(active=True).order_by("label"))


def linkable_subjects(*, actor: Actor) -> list[Linkable]:
    """The person's cases, appointments and online-service requests a message may refer to (3 queries)."""
    from omniguichet.appointments.services import list_appointments
    from omniguichet.cases.services import person_cases
    from omniguichet.core.formatting import french_date
    from omniguichet.teleservices.services import get_service, recent_requests

    person = person_of(actor)
    items = [
        Linkable(f"{LinkKind.CASE}:{case.reference}", _("Case %(ref)s (%(status)s)")
                 % {"ref": case.reference, "status": case.get_status_display()})
        for case in person_cases(person_id=person.pk, limit=20)
    ]  # fmt: skip
    for appointment in list_appointments(actor=actor, upcoming=False)[:20]:
        items.append(
            Linkable(
                f"{LinkKind.APPOINTMENT}:{appointment.pk}",
                _("Appointment of %(date)s: %(motive)s")
                % {"date": french_date(appointment.start.date()), "motive": appointment.motive},
            )
        )
    for request in recent_requests(actor=actor, person=person, limit=20):
        try:
            title = str(get_service(request.service).title)
        except Exception:  # a service withdrawn from the catalogue keeps its code
            title = request.service
        items.append(
            Linkable(
                f"{LinkKind.TELESERVICE}:{request.pk}",
                _("Online request of %(date)s: %(title)s")
                % {"date": french_date(request.created_at.date()), "title": title},
            )
        )
    return items


def _check_link(actor: Actor, link: str, fields: dict[str, str]) -> tuple[str, str, str]:
    if not link:
        return "", "", ""
    match = next((item for item in linkable_subjects(actor=actor) if item.value == link), None)
    if match is None:
        fields["link"] = _("is not one of your cases, appointments or requests")
        return "", "", ""
    kind, ref = link.split(":", 1)
    return kind, ref, match.label[:200]


def _check_body(body: Any, fields: dict[str, str]) -> str:
    if not isinstance(body, str):
        fields["body"] = _("must be text")
        return ""
    body = body.replace("\r\n", "\n").strip()
    try:
        validate_message_body(body)
    except ValidationError as exc:
        fields["body"] = exc.messages[0]
    if len(body) > MAX_BODY:
        fields["body"] = _("at most %(n)d characters (this one has %(m)d)") % {"n": MAX_BODY, "m": len(body)}
    return body


def _check_files(files: list[tuple[str, bytes]], fields: dict[str, str]) -> list[Any]:
    """Every file through the documents' checks (type sniffed, PDF without scripts, images re-encoded...)."""
    from omniguichet.documents.services import FileRefused, check_file

    if len(files) > MAX_ATTACHMENTS:
        fields["files"] = _("at most %(n)d files per message") % {"n": MAX_ATTACHMENTS}
        return []
    checked = []
    for name, data in files:
        try:
            checked.append(check_file(name, data))
        except FileRefused as exc:
            fields["files"] = exc.message
            return []
    return checked


def _store(checked: list[Any], caisse_code: str) -> list[dict[str, Any]]:
    from omniguichet.documents.services import store_encrypted

    return [
        {"name": f.name[:200], "content_type": f.content_type, "size": f.size, "pages": f.pages,
         "checksum": f.checksum, "file": store_encrypted(f.content, caisse_code=caisse_code)}
        for f in checked
    ]  # fmt: skip


def _deadlines(
    caisse: str, motive: str, received_at: dt.datetime, kind: str = WORK_ITEM_KIND
) -> tuple[dt.datetime, dt.datetime]:
    """(deadline, due soon at) of a thread waiting from `received_at`: the policy of its kind ("message", "email")
    and its motive, on its caisse's calendar (docs/deadlines.md)."""
    return deadline_and_due_soon(kind=kind, motive=motive, caisse=caisse, received_at=received_at)


def wait_again(thread: Thread, now: dt.datetime) -> None:
    """The person (or the sender) writes in a thread: it waits for an answer again, opened again if it was closed,
    with a new deadline when its clock had stopped. Saved by the caller (the row is locked)."""
    if thread.status != ThreadStatus.WAITING:
        thread.waiting_since = now
        thread.deadline, thread.due_soon_at = _deadlines(
            thread.caisse_id, thread.motive_id, now, thread.work_item_kind
        )
    thread.status, thread.outcome, thread.closed_at, thread.closed_by = ThreadStatus.WAITING, "", None, None
    thread.last_message_at = now


def write_message(
    *, actor: Actor, channel: str, body: Any, motive: str = "", subject: str = "", link: str = "",
    thread_id: int | None = None, files: list[tuple[str, bytes]] | None = None, idempotency_key: str = "",
) -> Message:  # fmt: skip
    """A person writes to their caisse: a new thread (a motive is needed) or the next message of one of their
    threads. A closed thread takes the message within REOPEN_DAYS of its closing (and opens again); later the
    message opens a new thread on the same subject. Every check is made before anything is written.

    Queries (docs/messaging.md, locked by tests/messaging/test_query_counts.py): the person; a new thread is
    inserted with its work item (routing rule, basket, item) and the person's thread is read once, locked, in the
    transaction that writes; the motives come from the process's cache (crm.services.active_motives)."""
    person = person_of(actor)
    now = timezone.now()
    key = f"{person.pk}:{idempotency_key}"[:120] if idempotency_key else None
    if key:
        replayed = Message.objects.filter(idempotency_key=key).select_related("thread").first()
        if replayed is not None:
            return replayed
    # The checks that do not depend on the thread, before the transaction (the files' can take a while).
    fields: dict[str, str] = {}
    text = _check_body(body, fields)
    checked = _check_files(list(files or []), fields)
    try:
        with transaction.atomic():
            return _write(
                actor=actor, person=person, now=now, text=text, checked=checked, fields=fields, motive=motive,
                subject=subject, link=link, thread_id=thread_id, key=key,
            )  # fmt: skip
    except IntegrityError:
        if key:  # the same request, twice at once: the other one wrote it
            found = Message.objects.filter(idempotency_key=key).first()
            if found is not None:
                return found
        raise


def _write(
    *, actor: Actor, person: Person, now: dt.datetime, text: str, checked: list[Any], fields: dict[str, str],
    motive: str, subject: str, link: str, thread_id: int | None, key: str | None,
) -> Message:  # fmt: skip
    """write_message's checks that depend on the thread, then its writes, in its transaction: a refusal raises
    before anything is written (`fields` holds the refusals of the checks already made)."""
    thread: Thread | None = None
    if thread_id is not None:
        # Read once, locked until the commit: the message and the thread's new state are computed from this row.
        thread = Thread.objects.select_for_update().filter(pk=thread_id, person=person).first()
        if thread is None:
            raise NotFound(_("no such conversation"))
        if (
            thread.status == ThreadStatus.CLOSED
            and thread.closed_at
            and (now - thread.closed_at > dt.timedelta(days=REOPEN_DAYS))
        ):
            motive, subject = motive or thread.motive_id, subject or thread.subject
            link = link or (f"{thread.link_kind}:{thread.link_ref}" if thread.link_kind else "")
            thread = None  # too late to answer it: a new thread, on the same subject
    motive_row = None
    if thread is None:
        code = str(motive or "")[:40]
        motive_row = active_motives().get(code) or (active_motives(refresh=True).get(code) if code else None)
        if motive_row is None:
            fields["motive"] = _("choose a subject from the list") if not motive else _("unknown subject")
        if not isinstance(subject, str) or len(subject) > SUBJECT_MAX:
            fields["subject"] = _("at most %(n)d characters") % {"n": SUBJECT_MAX}
    link_kind, link_ref, link_label = _check_link(actor, link, fields) if thread is None else ("", "", "")
    if fields:
        raise InvalidInput.from_fields(fields)
    stored = _store(checked, person.caisse_id)
    if thread is None:
        assert motive_row is not None
        deadline, due_soon_at = _deadlines(person.caisse_id, motive_row.pk, now)
        thread = Thread.objects.create(
            person=person, caisse_id=person.caisse_id, motive=motive_row,
            subject=(subject or "").strip() or motive_row.label, link_kind=link_kind, link_ref=link_ref,
            link_label=link_label, status=ThreadStatus.WAITING, opened_at=now, last_message_at=now,
            waiting_since=now, deadline=deadline, due_soon_at=due_soon_at,
        )  # fmt: skip
        thread_waits(thread, new=True)  # its work item, in a basket of the caisse (baskets app)
    else:
        wait_again(thread, now)  # the clock starts again, with a new deadline
        thread.save()
        thread_waits(thread)
    message = Message.objects.create(
        thread=thread, direction=Direction.INBOUND, body=text, created_at=now, idempotency_key=key
    )
    attachments = Attachment.objects.bulk_create([Attachment(message=message, **row) for row in stored])
    # What the answer shows: the files just written, without reading them back.
    message._prefetched_objects_cache = {"attachments": attachments}  # type: ignore[attr-defined]
    record_contact(
        actor=actor, channel=Channel.SECURE_MESSAGE, person=person, motive=thread.motive_id,
        direction=Direction.INBOUND, started_at=now, outcome=Outcome.PENDING,
        subject_kind=SubjectKind.MESSAGE, subject_ref=thread.pk,
    )  # fmt: skip
    return message


def my_threads(*, actor: Actor, limit: int = 50) -> list[Thread]:
    """The person's threads, newest first, each with its count of unread answers (one query)."""
    person = person_of(actor)
    return list(
        Thread.objects.filter(person=person)
        .select_related("motive")
        .annotate(
            unread=Count("messages", filter=Q(messages__direction=Direction.OUTBOUND, messages__read_at=None))
        )
        .order_by("-last_message_at", "-id")[: max(1, min(limit, 200))]
    )


def _thread_messages() -> Prefetch:
    return Prefetch(
        "messages",
        queryset=Message.objects.order_by("created_at", "id").prefetch_related("attachments"),
    )


def read_thread(*, actor: Actor, channel: str, thread_id: int) -> Thread:
    """One of the person's threads with its messages; the answers it holds are marked read (404 for anyone
    else's thread: no one learns that it exists)."""
    person = person_of(actor)
    thread = (
        Thread.objects.filter(pk=thread_id, person=person)
        .select_related("motive")
        .prefetch_related(_thread_messages())
        .first()
    )
    if thread is None:
        raise NotFound(_("no such conversation"))
    unread = [m.pk for m in thread.messages.all() if m.direction == Direction.OUTBOUND and m.read_at is None]
    if unread:
        Message.objects.filter(pk__in=unread).update(read_at=timezone.now())
    return thread


def read_attachment(*, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
    """A file of a message, decrypted, for the person who wrote it or an agent of the thread's caisse."""
    from omniguichet.core.actors import scope_to_caisse
    from omniguichet.documents.services import read_plain

    attachments = Attachment.objects.select_related("message__thread")
    if actor.kind == ActorKind.INSURED:
        attachment = attachments.filter(
            pk=attachment_id, message__thread__person_id=actor.person_id or 0
        ).first()
    else:
        threads = scope_to_caisse(Thread.objects.all(), actor)
        attachment = attachments.filter(pk=attachment_id, message__thread__in=threads).first()
    if attachment is None:
        raise NotFound(_("no such file"))
    return attachment, read_plain(attachment)


def message_exists(*, actor: Actor, idempotency_key: str) -> bool:
    """Whether the person already wrote a message with this key (the API answers a replay with 200)."""
    person = person_of(actor)
    return Message.objects.filter(idempotency_key=f"{person.pk}:{idempotency_key}"[:120]).exists()
