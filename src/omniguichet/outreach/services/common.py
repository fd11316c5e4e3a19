"""Constants of the ledger: time zone, default channel policy, the contact channel of each message channel."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from omniguichet.core.actors import Channel
from omniguichet.outreach.models import (
    MessageChannel,
)

log = logging.getLogger(__name__)


PARIS = ZoneInfo("Europe/Paris")


DEFAULT_POLICY = "inbox+push>sms>email>letter"


_CHANNELS = frozenset(MessageChannel.values)


CONTACT_CHANNEL: dict[str, str] = {
    MessageChannel.INBOX: Channel.WEB,
    MessageChannel.PUSH: Channel.PUSH,
    MessageChannel.SMS: Channel.SMS,
    MessageChannel.EMAIL: Channel.EMAIL,
    MessageChannel.LETTER: Channel.LETTER,
}


SMS_MAX = 480


CONTACT_SOURCE = "outreach"  # the contacts of sent messages: external_id "msg-<message id>"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)
