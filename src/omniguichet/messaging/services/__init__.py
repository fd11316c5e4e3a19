"""Secure messaging between a person and their caisse: `threads` (what the person writes and reads) and `answers`
(what agents do: the queue, claiming, answering with templates, closing). Public names re-exported here."""

from omniguichet.messaging.services.answers import (
    DUE_SOON_SHARE,
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
    work_item_figures,
)
from omniguichet.messaging.services.links import agent_thread_url, inbox_items
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
    "Linkable",
    "QueueCounts",
    "agent_thread",
    "agent_thread_url",
    "answer_thread",
    "claim_thread",
    "close_thread",
    "fill_template",
    "inbox_items",
    "linkable_subjects",
    "message_exists",
    "motives",
    "my_threads",
    "queue",
    "queue_counts",
    "read_attachment",
    "read_thread",
    "reply_templates",
    "template_context",
    "work_item_figures",
    "write_message",
]  # fmt: skip
