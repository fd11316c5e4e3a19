"""The quiet hours and the frequency cap, on the times messages are really sent (docs/cases-and-messages.md,
"Quiet hours and frequency cap: the rule in one place")."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Q

from omniguichet.core.db import values_subquery
from omniguichet.outreach.models import (
    MessageChannel,
    MessageState,
    OutboundMessage,
)
from omniguichet.outreach.services.common import PARIS, _setting


def sms_quiet_hours() -> tuple[int, int]:
    return _setting("OUTREACH_SMS_QUIET_FROM", 20), _setting("OUTREACH_SMS_QUIET_UNTIL", 8)


def outside_quiet_hours(at: dt.datetime) -> dt.datetime:
    """The first moment at or after `at` when an SMS may go: never from 20:00 to 08:00, Paris time (deferred to
    08:00, never dropped). Computed in local time, so the DST changes are right."""
    if not in_quiet_hours(at):
        return at
    _start, end = sms_quiet_hours()
    local = at.astimezone(PARIS)
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    if end >= 24:  # quiet until midnight (a setting of "quiet all day" ends nowhere: the next midnight)
        day, end = day + dt.timedelta(days=1), 0
    return dt.datetime.combine(day, dt.time(end), tzinfo=PARIS)


def in_quiet_hours(at: dt.datetime) -> bool:
    start, end = sms_quiet_hours()
    return not (end <= at.astimezone(PARIS).hour < start)


def daily_caps() -> dict[str, int]:
    """How many messages a person may get on a channel in any 24 hours: OUTREACH_SMS_DAILY_CAP for SMS (3), and
    OUTREACH_DAILY_CAPS for any channel ({"push": 5}; environment "push=5,email=10"); others have no cap."""
    return {MessageChannel.SMS: _setting("OUTREACH_SMS_DAILY_CAP", 3), **_setting("OUTREACH_DAILY_CAPS", {})}


DAY = dt.timedelta(hours=24)


def _paris_midnight(at: dt.datetime, days: int = 0) -> dt.datetime:
    """Midnight (Paris time) starting the calendar day of `at`, or `days` later (23, 24 or 25 hours a day)."""
    return dt.datetime.combine(
        at.astimezone(PARIS).date() + dt.timedelta(days=days), dt.time(0), tzinfo=PARIS
    )


def next_send_time(
    channel: str, at: dt.datetime, sent: Sequence[dt.datetime], *, quiet: bool = True
) -> dt.datetime:
    """The first moment at or after `at` when one more message of this channel may go to a person whose other
    messages go (or went) at the times `sent`: for an SMS held by the quiet hours (`quiet`), outside them; and
    fewer than the channel's cap both in the 24 hours ending then and in that Paris calendar day. The rule in
    full, with its edge cases: docs/cases-and-messages.md, "Quiet hours and frequency cap"."""
    hold = outside_quiet_hours if (channel == MessageChannel.SMS and quiet) else (lambda t: t)
    cap = daily_caps().get(channel)
    t = hold(at)
    for _round in range(100):
        if not cap:
            break
        window = sorted(x for x in sent if t - DAY < x <= t)
        if len(window) >= cap:  # wait until the oldest of the last `cap` leaves the 24 hours
            t = hold(window[len(window) - cap] + DAY)
            continue
        midnight = _paris_midnight(t)
        if sum(1 for x in sent if midnight <= x <= t) >= cap:  # the day is full: the next one
            t = hold(_paris_midnight(t, days=1))
            continue
        break
    return t


def schedule(channel: str, at: dt.datetime, planned: list[dt.datetime]) -> dt.datetime:
    """When a message of this channel planned at `at` is expected to go, given the person's other messages of
    the channel (`planned`, their send times or expected send times; updated in place). A forecast: the cap is
    enforced again on the real send times when the dispatcher claims the message (`_hold_to_cap`)."""
    t = next_send_time(channel, at, planned)
    planned.append(t)
    planned.sort()
    return t


def schedule_sms(at: dt.datetime, planned: list[dt.datetime]) -> dt.datetime:
    return schedule(MessageChannel.SMS, at, planned)


def _planned(person_ids: Iterable[int], since: dt.datetime) -> dict[tuple[int, str], list[dt.datetime]]:
    """The send times of the persons' messages on the capped channels since then, by (person, channel): when a
    message went (not the time it was planned for, which the quiet hours, a retry or a stopped worker may have
    moved), or, for one still queued, its planned time."""
    planned: dict[tuple[int, str], list[dt.datetime]] = defaultdict(list)
    ids = list(person_ids)
    channels = [c for c, cap in daily_caps().items() if cap]
    if not ids or not channels:
        return planned
    rows = (
        OutboundMessage.objects.filter(person_id__in=values_subquery(ids, of="bigint"), channel__in=channels)
        .filter(Q(sent_at__gt=since) | Q(sent_at__isnull=True, not_before__gt=since))
        .exclude(state__in=[MessageState.FAILED, MessageState.MERGED])
        .values_list("person_id", "channel", "not_before", "sent_at")
    )
    for person_id, channel, not_before, sent_at in rows:
        planned[person_id, channel].append(sent_at or not_before)
    for times in planned.values():
        times.sort()
    return planned
