"""Channel providers: SMS (file or HTTP), e-mail (Django's mail backends, with registered attachments), push, letter."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from omniguichet.core.db import bulk_insert_rows, values_subquery
from omniguichet.outreach.models import (
    InboxMessage,
    MessageChannel,
    OutboundMessage,
)
from omniguichet.outreach.services.common import _setting


@dataclass
class SendOutcome:
    ok: bool
    provider_ref: str = ""
    error: str = ""
    permanent: bool = False  # a failure that no retry will fix (refused address...)
    delivered: bool = False  # the provider confirms delivery at once (the account inbox)


class Provider(Protocol):
    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]: ...


class InboxProvider:
    """The account inbox: the message is in the person's account at once (delivered)."""

    COLUMNS = ("person_id", "idempotency_key", "subject", "body", "created_at", "subject_kind", "subject_ref")

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        keys = [m.idempotency_key for m in messages]
        there = set(
            InboxMessage.objects.filter(idempotency_key__in=values_subquery(keys, of="text")).values_list(
                "idempotency_key", flat=True
            )
        )  # sent before a crash: already in the account
        rows = [
            (
                m.person_id,
                m.idempotency_key,
                m.subject or m.body[:200],
                m.body,
                now,
                m.subject_kind,
                m.subject_ref,
            )
            for m in messages
            if m.idempotency_key not in there
        ]
        try:
            with (
                transaction.atomic()
            ):  # a savepoint: another dispatcher writing the same keys costs a slower path
                bulk_insert_rows(InboxMessage, self.COLUMNS, rows)
        except IntegrityError:
            InboxMessage.objects.bulk_create(
                [InboxMessage(**dict(zip(self.COLUMNS, row, strict=True))) for row in rows],
                ignore_conflicts=True,
            )
        return {m.pk: SendOutcome(True, m.idempotency_key, delivered=True) for m in messages}


def outbox_dir() -> Path:
    return Path(_setting("OUTREACH_OUTBOX_DIR", settings.VAR_DIR / "outbox"))


class FileSink:
    """A JSON-lines file under the var dir standing for a remote provider (SMS and push for the demo, the print
    queue for letters). Like a real provider with an idempotency key, it drops a message whose key it already
    has: the dispatcher may send twice after a crash, the sink keeps one. Safe across processes (file lock)."""

    _known: dict[Path, tuple[int, set[str]]] = {}

    def __init__(self, name: str) -> None:
        self.path = outbox_dir() / f"{name}.jsonl"

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                keys = self._keys(handle)
                lines = []
                for m in messages:
                    if m.idempotency_key in keys:
                        continue
                    keys.add(m.idempotency_key)
                    lines.append(json.dumps({
                        "key": m.idempotency_key, "to": m.recipient, "person_id": m.person_id,
                        "subject": m.subject, "text": m.body, "at": timezone.now().isoformat(),
                    }, ensure_ascii=False))  # fmt: skip
                if lines:
                    handle.seek(0, os.SEEK_END)
                    handle.write(("\n".join(lines) + "\n").encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                    self._known[self.path] = (handle.tell(), keys)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return {m.pk: SendOutcome(True, m.idempotency_key) for m in messages}

    def _keys(self, handle: Any) -> set[str]:
        """The keys already in the file (read incrementally); a line torn by a crash is cut off."""
        offset, keys = self._known.get(self.path, (0, set()))
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size < offset:  # the file was replaced
            offset, keys = 0, set()
        handle.seek(offset)
        data = handle.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if line.strip():
                keys.add(json.loads(line)["key"])
        if end < len(data):  # a torn last line (the writer died): drop it, its message will be sent again
            handle.truncate(offset + end)
        self._known[self.path] = (offset + end, keys)
        return keys

    @classmethod
    def forget(cls) -> None:
        cls._known.clear()


EmailAttachment = tuple[str, bytes, str]  # file name, content, MIME type


AttachmentProvider = Callable[[list[OutboundMessage]], dict[int, list[EmailAttachment]]]


_email_attachments: dict[str, AttachmentProvider] = {}


def register_email_attachments(subject_kind: str, provider: AttachmentProvider) -> None:
    """Let the app that owns a kind of subject attach files to its e-mails (e.g. the appointment's .ics). They are
    built when the e-mail is sent, from the subject's state at that moment, and never stored in the ledger.
    `provider(messages)` returns the attachments by message id (one query for all of them)."""
    _email_attachments[subject_kind] = provider


def email_attachments(messages: list[OutboundMessage]) -> dict[int, list[EmailAttachment]]:
    by_kind: dict[str, list[OutboundMessage]] = defaultdict(list)
    for m in messages:
        if m.subject_kind in _email_attachments:
            by_kind[m.subject_kind].append(m)
    found: dict[int, list[EmailAttachment]] = {}
    for kind, group in by_kind.items():
        found.update(_email_attachments[kind](group))
    return found


class SmtpEmailProvider:
    """E-mail through Django's e-mail backend (SMTP in production). The Message-ID comes from the idempotency
    key, so that a message sent twice after a crash is recognisable downstream. Apps may attach files to their
    subjects' e-mails (`register_email_attachments`)."""

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        import smtplib

        outcomes: dict[int, SendOutcome] = {}
        sender = _setting("OUTREACH_EMAIL_FROM", "ne-pas-repondre@omniguichet.example")
        domain = sender.rsplit("@", 1)[-1]
        try:
            connection = mail.get_connection(fail_silently=False)
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            return {m.pk: SendOutcome(False, error=f"smtp: {exc}"[:500]) for m in messages}
        try:
            attachments = email_attachments(messages)
            for m in messages:
                message_id = f"<{m.idempotency_key.replace(':', '.').replace(' ', '')[:150]}@{domain}>"
                email = mail.EmailMessage(
                    subject=m.subject,
                    body=m.body,
                    from_email=sender,
                    to=[m.recipient],
                    connection=connection,
                    headers={"Message-ID": message_id, "X-Idempotency-Key": m.idempotency_key},
                )
                for name, content, mimetype in attachments.get(m.pk, ()):
                    email.attach(name, content, mimetype)
                try:
                    email.send()
                    outcomes[m.pk] = SendOutcome(True, message_id)
                except smtplib.SMTPRecipientsRefused as exc:
                    outcomes[m.pk] = SendOutcome(False, error=f"refused: {exc}"[:500], permanent=True)
                except (OSError, smtplib.SMTPException) as exc:
                    outcomes[m.pk] = SendOutcome(False, error=f"smtp: {exc}"[:500])
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.close()
        return outcomes


class HttpSmsProvider:
    """SMS through an HTTP provider: POST {to, text, reference} with the idempotency key in a header; the
    provider answers {"id": ...}. 4xx: refused for good; 5xx or no answer: retried later."""

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, messages: list[OutboundMessage]) -> dict[int, SendOutcome]:
        outcomes: dict[int, SendOutcome] = {}
        for m in messages:
            data = json.dumps({"to": m.recipient, "text": m.body, "reference": m.idempotency_key}).encode()
            request = urllib.request.Request(self.url, data=data, method="POST", headers={
                "Content-Type": "application/json", "Idempotency-Key": m.idempotency_key,
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            })  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.loads(response.read() or b"{}")
                outcomes[m.pk] = SendOutcome(True, str(answer.get("id", m.idempotency_key))[:200])
            except urllib.error.HTTPError as exc:
                outcomes[m.pk] = SendOutcome(False, error=f"http {exc.code}", permanent=400 <= exc.code < 500)
            except (OSError, ValueError) as exc:
                outcomes[m.pk] = SendOutcome(False, error=f"sms provider: {exc}"[:500])
        return outcomes


def provider_for(channel: str) -> Provider:
    if channel == MessageChannel.INBOX:
        return InboxProvider()
    if channel == MessageChannel.EMAIL:
        return SmtpEmailProvider()
    if channel == MessageChannel.SMS and _setting("OUTREACH_SMS_PROVIDER", "file") == "http":
        return HttpSmsProvider(_setting("OUTREACH_SMS_URL", ""), _setting("OUTREACH_SMS_TOKEN", ""))
    return FileSink("letters" if channel == MessageChannel.LETTER else channel)
