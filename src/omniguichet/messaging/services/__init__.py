"""Secure messaging between a person and their caisse: `threads` (what the person writes and reads), `answers`
(what agents do: the queue, claiming, answering with templates, closing) and `mailin` with `mailparse` (e-mail
received by the platform). Public names re-exported here."""

from omniguichet.messaging.services.answers import (
    DUE_SOON_SHARE,
    TO_IDENTIFY,
    QueueCounts,
    agent_thread,
    answer_thread,
    claim_thread,
    close_thread,
    fill_template,
    queue,
    queue_counts,
    reply_templates,
    template_context,
)
from omniguichet.messaging.services.links import agent_thread_url, inbox_items
from omniguichet.messaging.services.mailin import (
    MailNotSent,
    Received,
    after_receipt,
    attach_thread,
    caisse_address,
    caisse_for_recipient,
    email_deadline,
    mailin_domain,
    receive_email,
)
from omniguichet.messaging.services.mailparse import MailRefused, ParsedMail, parse_email, sanitise_html
from omniguichet.messaging.services.threads import (
    Linkable,
    linkable_subjects,
    message_exists,
    motives,
    my_threads,
    read_attachment,
    read_thread,
    write_message,
)

__all__ = [
    "DUE_SOON_SHARE",
    "TO_IDENTIFY",
    "Linkable",
    "MailNotSent",
    "MailRefused",
    "ParsedMail",
    "QueueCounts",
    "Received",
    "after_receipt",
    "agent_thread",
    "agent_thread_url",
    "answer_thread",
    "attach_thread",
    "caisse_address",
    "caisse_for_recipient",
    "claim_thread",
    "close_thread",
    "email_deadline",
    "fill_template",
    "inbox_items",
    "linkable_subjects",
    "mailin_domain",
    "message_exists",
    "motives",
    "my_threads",
    "parse_email",
    "queue",
    "queue_counts",
    "read_attachment",
    "read_thread",
    "receive_email",
    "reply_templates",
    "sanitise_html",
    "template_context",
    "write_message",
]  # fmt: skip
