"""E-mail received by the platform (`omniguichet mailin`), worked as threads of secure messaging: the caisses'
addresses, storing a received e-mail (matched to a person only through a verified address, joined to its thread
by its headers or the reference in its subject, its files through the documents' checks), the automatic
acknowledgement and the notice of refused files, attaching an unknown sender's e-mail to a person, and the
agent's answer sent by SMTP with threading headers. docs/messaging.md, "E-mail"."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from omniguichet.crm.models import Direction, Outcome, SubjectKind
from omniguichet.crm.services import record_contact
from omniguichet.messaging.models import (
    EMAIL_WORK_ITEM_KIND,
    MAX_ATTACHMENTS,
    REOPEN_DAYS,
    Attachment,
    Message,
    Thread,
    ThreadChannel,
    ThreadStatus,
)
from omniguichet.messaging.services.items import DEFAULT_MOTIVE, thread_rerouted, thread_waits
from omniguichet.messaging.services.mailparse import ParsedFile, ParsedMail, parse_email
from omniguichet.messaging.services.threads import _deadlines, wait_again

log = logging.getLogger("omniguichet.mailin")
SYSTEM = Actor.system("mailin")
# At most one acknowledgement an hour to one sender (floods, loops with another robot).
ACK_INTERVAL = dt.timedelta(hours=1)
# The classifier reads the subject and the beginning of the text: where people say what they write about (and
# its time grows with the text: 12 ms on 5,000 characters, bench/RESULTS.md).
CLASSIFIED_CHARS = 1500


class MailNotSent(ServiceError):
    """The mail server refused or could not be reached: nothing was stored, the agent tries again."""

    status = 503
    code = "unavailable"


def mailin_domain() -> str:
    return str(getattr(settings, "OMNIGUICHET_MAILIN_DOMAIN", "courriel.example")).lower()


def caisse_address(caisse_code: str) -> str:
    return f"{caisse_code.lower()}@{mailin_domain()}"


def caisse_for_recipient(address: str) -> str | None:
    """The caisse a recipient address is for (`<code>@<domain>`), or None: every other address is refused."""
    from omniguichet.referential.services import caisse_exists

    local, _at, domain = str(address).strip().strip("<>").rpartition("@")
    code = local.upper()
    if domain.lower() != mailin_domain() or not (1 <= len(code) <= 3) or not code.isalnum():
        return None
    return code if caisse_exists(code) else None


@dataclass
class Received:
    """What storing one e-mail did; the acknowledgement and the notice are sent after the commit."""

    message: Message
    duplicate: bool = False
    acknowledge: bool = False
    tell_refused: bool = False
    refused: list[dict[str, str]] = field(default_factory=list)


def _check_files(files: tuple[ParsedFile, ...]) -> tuple[list[Any], list[dict[str, str]]]:
    """Every file through the documents' checks; a refused one is noted (which file, why), the others kept."""
    from omniguichet.documents.services import FileRefused, check_file

    checked, refused = [], []
    for index, item in enumerate(files):
        if index >= MAX_ATTACHMENTS:
            refused.append(
                {"name": item.name, "reason": _("at most %(n)d files per message") % {"n": MAX_ATTACHMENTS}}
            )
            continue
        try:
            checked.append(check_file(item.name, item.data))
        except FileRefused as exc:
            refused.append({"name": item.name, "reason": exc.message})
    return checked, refused


def _motive(parsed: ParsedMail) -> tuple[str, str, float | None]:
    """The thread's motive: the classifier's suggestion when it is confident enough, else "autre"; the
    suggestion and its confidence are kept for the agent either way."""
    from omniguichet.crm.classifier import needs_triage, suggest_motive

    try:
        suggestion = suggest_motive(subject=parsed.subject, body=parsed.body[:CLASSIFIED_CHARS])
    except Exception:  # the classifier is a help: an e-mail is never refused for it
        log.exception("classifier failed")
        return DEFAULT_MOTIVE, "", None
    motive = DEFAULT_MOTIVE if needs_triage(suggestion) else suggestion.motive
    return motive, suggestion.motive, round(float(suggestion.confidence), 4)


def _may_join(thread: Thread, parsed: ParsedMail, person_id: int | None) -> bool:
    """A reply joins a thread only from the thread's own sender or person (a forged header does not)."""
    return thread.sender_address == parsed.sender or (person_id is not None and thread.person_id == person_id)


def _find_thread(parsed: ParsedMail, person_id: int | None, now: dt.datetime) -> Thread | None:
    candidates: list[Thread] = []
    if parsed.references:
        by_id = {
            m.message_id: m.thread
            for m in Message.objects.filter(message_id__in=parsed.references).select_related("thread")
        }
        candidates += [by_id[ref] for ref in parsed.references if ref in by_id]
    if parsed.subject_reference is not None:
        candidates += list(Thread.objects.filter(pk=parsed.subject_reference))
    for thread in candidates:
        if not _may_join(thread, parsed, person_id):
            continue
        too_late = now - dt.timedelta(days=REOPEN_DAYS)
        if thread.status == ThreadStatus.CLOSED and thread.closed_at and thread.closed_at < too_late:
            return None  # too late to answer it: a new thread
        return thread
    return None


def _recently_acknowledged(sender: str, now: dt.datetime) -> bool:
    return Message.objects.filter(
        thread__sender_address=sender, acknowledged_at__gte=now - ACK_INTERVAL
    ).exists()


def receive_email(
    *, caisse_code: str, data: bytes, envelope_sender: str = "x", now: dt.datetime | None = None
) -> Received:
    """Store one e-mail received for a caisse, in one transaction, or refuse it (`MailRefused`) and store nothing.
    The same Message-ID again is not stored twice (`duplicate`). The sender is a person only through a verified
    e-mail address; otherwise the thread has no person and waits in the caisse's "to identify" list."""
    from omniguichet.documents.services import store_encrypted
    from omniguichet.referential.services import person_with_verified_contact

    parsed = parse_email(data)
    now = now or timezone.now()
    existing = Message.objects.filter(message_id=parsed.message_id).select_related("thread").first()
    if existing is not None:
        return Received(existing, duplicate=True)
    person = person_with_verified_contact(kind="email", value=parsed.sender)
    person_id = person.pk if person is not None else None
    checked, refused = _check_files(parsed.files)
    thread = _find_thread(parsed, person_id, now)
    motive, suggested, confidence = (thread.motive_id, "", None) if thread else _motive(parsed)
    home = person.caisse_id if person is not None else caisse_code
    stored = [
        {"name": f.name[:200], "content_type": f.content_type, "size": f.size, "pages": f.pages,
         "checksum": f.checksum, "file": store_encrypted(f.content, caisse_code=thread.caisse_id if thread else home)}
        for f in checked
    ]  # fmt: skip
    automatic = parsed.automatic or not envelope_sender  # MAIL FROM:<> is a bounce or a robot's report
    try:
        with transaction.atomic():
            new = thread is None
            if thread is None:
                deadline, due_soon_at = _deadlines(home, motive, now, EMAIL_WORK_ITEM_KIND)
                thread = Thread.objects.create(
                    person=person, caisse_id=home, motive_id=motive, channel=ThreadChannel.EMAIL,
                    subject=parsed.subject or _("E-mail without subject"), sender_address=parsed.sender,
                    email_ref=parsed.message_id, suggested_motive=suggested, suggestion_confidence=confidence,
                    status=ThreadStatus.WAITING, opened_at=now, last_message_at=now, waiting_since=now,
                    deadline=deadline, due_soon_at=due_soon_at,
                )  # fmt: skip
            else:  # its person with it (the contact below): one query
                thread = (
                    Thread.objects.select_for_update(of=("self",)).select_related("person").get(pk=thread.pk)
                )
                wait_again(thread, now)
                thread.save()
            thread_waits(
                thread, new=new
            )  # its work item: to identify, triage, or the basket the rules choose
            acknowledge = not automatic and not _recently_acknowledged(parsed.sender, now)
            message = Message.objects.create(
                thread=thread, direction=Direction.INBOUND, body=parsed.body or _("(files only)"),
                created_at=now, message_id=parsed.message_id, html=parsed.html, refused_files=refused,
                acknowledged_at=now if acknowledge else None,
            )  # fmt: skip
            Attachment.objects.bulk_create([Attachment(message=message, **row) for row in stored])
            if thread.person is not None:
                record_contact(
                    actor=SYSTEM, channel=Channel.EMAIL, person=thread.person, motive=thread.motive_id,
                    direction=Direction.INBOUND, started_at=now, outcome=Outcome.PENDING,
                    subject_kind=SubjectKind.MESSAGE, subject_ref=thread.pk,
                )  # fmt: skip
    except IntegrityError:
        replayed = Message.objects.filter(message_id=parsed.message_id).select_related("thread").first()
        if replayed is not None:  # the same mail, twice at once: the other session stored it
            return Received(replayed, duplicate=True)
        raise
    # Which file was refused, and why: only to an address verified for the person, never to anyone else.
    tell = bool(refused) and person is not None and not automatic
    return Received(message, acknowledge=acknowledge, tell_refused=tell, refused=refused)


# --- mail the platform sends -----------------------------------------------------------------------------------
def send_mail_now(
    *, to: str, subject: str, body: str, from_email: str, in_reply_to: str = "", references: list[str] | None = None,
    automatic: bool = False,
) -> str:  # fmt: skip
    """One e-mail through Django's e-mail backend (SMTP in production); returns its new Message-ID. Raises
    MailNotSent when the server refuses it or cannot be reached."""
    import smtplib

    from django.core import mail

    message_id = make_msgid(domain=mailin_domain())
    headers = {"Message-ID": message_id}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    references = [ref for ref in references or [] if ref]
    if references:
        headers["References"] = " ".join(references[-20:])
    if automatic:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots do not answer it
    email = mail.EmailMessage(subject=subject, body=body, from_email=from_email, to=[to], headers=headers)
    try:
        email.send(fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(
            _("the e-mail could not be sent (%(error)s): try again") % {"error": str(exc)[:200]}
        ) from None
    return message_id


def _replied_id(message: Message) -> str:
    """The Message-ID to answer: none when the mail had none (the digest standing for it is ours, not theirs)."""
    ref = message.message_id or ""
    return "" if ref.endswith("@mailin.invalid>") else ref


def _public_url(path: str) -> str:
    return settings.OMNIGUICHET_PUBLIC_URL.rstrip("/") + path


def send_acknowledgement(message: Message) -> str:
    """The automatic acknowledgement: a reference and how to use the secure messaging, nothing personal (the
    address may be anybody's)."""
    thread = message.thread
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Your e-mail was received [Ref. %(ref)s]") % {"ref": thread.pk}
        body = _(
            "Hello,\n\nYour caisse received your e-mail. Its reference: %(ref)s (keep it in the subject if you write "
            "again about it).\n\nThis address does not send personal information. To follow your requests and "
            "exchange documents safely, use the secure messaging of your online account: %(url)s\n\n"
            "This message was sent automatically."
        ) % {"ref": thread.pk, "url": _public_url("/compte/messages/")}
    return send_mail_now(
        to=thread.sender_address, subject=subject, body=body, from_email=caisse_address(thread.caisse_id),
        in_reply_to=_replied_id(message), references=[_replied_id(message)], automatic=True,
    )  # fmt: skip


def send_refusal_notice(message: Message) -> str:
    """To a verified sender only: which files of their e-mail were refused, and why."""
    thread = message.thread
    with translation.override(settings.LANGUAGE_CODE):
        lines = "\n".join(f"- {item['name']}: {item['reason']}" for item in message.refused_files)
        subject = _("Files not accepted [Ref. %(ref)s]") % {"ref": thread.pk}
        body = _(
            "Hello,\n\nYour e-mail (reference %(ref)s) was received, but these files were not accepted:\n%(files)s\n\n"
            "You can send them again as PDF, JPEG or PNG, or deposit them from your online account: %(url)s\n\n"
            "This message was sent automatically."
        ) % {"ref": thread.pk, "files": lines, "url": _public_url("/compte/messages/")}
    return send_mail_now(
        to=thread.sender_address, subject=subject, body=body, from_email=caisse_address(thread.caisse_id),
        in_reply_to=_replied_id(message), references=[_replied_id(message)], automatic=True,
    )  # fmt: skip


def after_receipt(received: Received) -> None:
    """What follows a stored e-mail, outside its transaction: a failure to send is logged, the mail stays."""
    if received.duplicate:
        return
    for wanted, send in (
        (received.acknowledge, send_acknowledgement),
        (received.tell_refused, send_refusal_notice),
    ):
        if wanted:
            try:
                send(received.message)
            except MailNotSent as exc:
                log.warning("mailin: %s for message %s: %s", send.__name__, received.message.pk, exc.message)


# --- agents ------------------------------------------------------------------------------------------------------
def answer_recipient(thread: Thread) -> str:
    """Where an agent's answer to an e-mail thread goes by e-mail: the sender's address when it is a verified
    address of the thread's person, else nowhere ("": the answer is read in the account)."""
    from omniguichet.referential.services import person_with_verified_contact

    if thread.person_id is None or not thread.sender_address:
        return ""
    owner = person_with_verified_contact(kind="email", value=thread.sender_address)
    return thread.sender_address if owner is not None and owner.pk == thread.person_id else ""


def thread_references(thread: Thread) -> list[str]:
    return [
        str(ref)
        for ref in Message.objects.filter(thread=thread, message_id__isnull=False)
        .order_by("created_at", "id")
        .values_list("message_id", flat=True)
    ]


def send_answer(thread: Thread, message: Message, recipient: str) -> str:
    """The agent's answer by e-mail, with a new Message-ID and the thread's threading headers."""
    references = [ref for ref in thread_references(thread) if not ref.endswith("@mailin.invalid>")]
    subject = thread.subject if thread.subject.lower().startswith("re:") else f"Re: {thread.subject}"
    if f"{thread.pk}]" not in subject:
        subject = f"{subject} [Réf. {thread.pk}]"
    return send_mail_now(
        to=recipient, subject=subject[:200], body=message.body, from_email=caisse_address(thread.caisse_id),
        in_reply_to=references[-1] if references else "", references=references,
    )  # fmt: skip


def attach_thread(*, actor: Actor, channel: Channel, thread_id: int, person_id: Any, purpose: str) -> Thread:
    """An agent attaches an unknown sender's e-mail thread to a person of their caisse (the record opened with
    the purpose, audited). The thread becomes the person's; its e-mails become contacts of their record. The
    sender's address is NOT verified by it: answers go by e-mail only to a verified address."""
    from omniguichet.crm.services import open_record

    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to the caisses' staff"))
    thread = scope_to_caisse(Thread.objects.all(), actor).filter(pk=thread_id).first()
    if thread is None:
        raise NotFound(_("no such conversation"))
    try:
        pid = int(person_id)
    except (TypeError, ValueError):
        raise InvalidInput.from_fields({"person_id": _("choose a person")}) from None
    if thread.person_id is not None:
        raise Conflict(_("this e-mail is already attached to a person"))
    record = open_record(actor=actor, channel=channel, person_id=pid, purpose=purpose, limit=1)  # audited
    person = record.person
    with transaction.atomic():
        thread = Thread.objects.select_for_update().get(pk=thread.pk)
        if thread.person_id is not None:
            raise Conflict(_("this e-mail is already attached to a person"))
        thread.person, thread.caisse_id = person, person.caisse_id
        thread.save(update_fields=["person", "caisse"])
        thread_rerouted(thread)  # from "to identify" to the basket the rules choose in the person's caisse
        for inbound in thread.messages.filter(direction=Direction.INBOUND).order_by("created_at", "id"):
            record_contact(
                actor=SYSTEM, channel=Channel.EMAIL, person=person, motive=thread.motive_id,
                direction=Direction.INBOUND, started_at=inbound.created_at, outcome=Outcome.PENDING,
                subject_kind=SubjectKind.MESSAGE, subject_ref=thread.pk,
            )  # fmt: skip
    return thread
