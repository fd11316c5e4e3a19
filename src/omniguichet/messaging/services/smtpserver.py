"""The SMTP server of `omniguichet mailin` (aiosmtpd): recipients checked at RCPT (one address per caisse, any
other refused with 550), the size limit announced and enforced by aiosmtpd (552), and each DATA stored in one
transaction by `mailin.receive_email` in a worker thread (the ORM is synchronous), or refused with its code. The
acknowledgement and the notice of refused files are sent by another thread, after the 250."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from omniguichet.messaging.services.mailin import after_receipt, caisse_for_recipient, receive_email
from omniguichet.messaging.services.mailparse import MailRefused

log = logging.getLogger("omniguichet.mailin")


def _in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    close_old_connections()  # a connection the database dropped is replaced, as between two web requests
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


class MailinHandler:
    """aiosmtpd handler: one caisse per message (a second caisse's recipient is deferred with 452)."""

    def __init__(self, *, workers: int | None = None) -> None:
        if workers is None:  # SQLite takes one writer at a time; PostgreSQL overlaps commits
            workers = 1 if connection.vendor == "sqlite" else 4
        self.storing = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mailin-store")
        self.sending = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailin-send")

    async def _run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.storing, lambda: _in_thread(function, *args, **kwargs))

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        try:
            code = await self._run(caisse_for_recipient, address)
        except DatabaseError:
            log.exception("mailin: RCPT")
            return "451 4.3.0 temporary failure, try again later"
        if code is None:
            return "550 5.1.1 no such mailbox here"
        known = getattr(envelope, "caisse_code", None)
        if known is not None and known != code:
            return "452 4.5.3 one caisse per message: send it again for this recipient"
        envelope.caisse_code = code
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            received = await self._run(
                receive_email,
                caisse_code=envelope.caisse_code,
                data=data,
                envelope_sender=envelope.mail_from or "",
            )
        except MailRefused as exc:
            return exc.smtp_reply
        except Exception:
            log.exception("mailin: DATA")
            return "451 4.3.0 temporary failure, nothing stored: try again later"
        if not received.duplicate and (received.acknowledge or received.tell_refused):
            self.sending.submit(_in_thread, after_receipt, received)
        return f"250 2.0.0 stored, reference {received.message.thread_id}"

    def close(self) -> None:
        self.storing.shutdown(wait=True)
        self.sending.shutdown(wait=True)


def make_controller(
    *, host: str = "127.0.0.1", port: int = 2525, workers: int | None = None, reuse_port: bool = False
) -> Any:
    """An aiosmtpd Controller running the mailin server in a thread (`start()`, `stop()`); `controller.handler`
    is the MailinHandler (its `close()` waits for the mail being stored and sent). `reuse_port`: several
    processes listen on the same port and the kernel shares the connections out (`mailin --processes N`)."""
    from aiosmtpd.controller import Controller

    class SharedPortController(Controller):
        def _create_server(self) -> Any:
            return self.loop.create_server(
                self._factory_invoker,
                host=self.hostname,
                port=self.port,
                ssl=self.ssl_context,
                reuse_port=True,
            )

    handler = MailinHandler(workers=workers)
    return (SharedPortController if reuse_port else Controller)(
        handler,
        hostname=host,
        port=port,
        data_size_limit=int(settings.OMNIGUICHET_MAILIN_MAX_BYTES),
        ident="omniguichet mailin",
        # the bytes as received: the parser reads them, with their charsets (decode_data=False)
        decode_data=False,
    )
