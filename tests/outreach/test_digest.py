"""The frequency cap, beyond the deferral: the SMS deferred by the cap are merged, when the first of them is
released, into one digest SMS (the merged ones stay in the ledger, marked merged, pointing to it); and no SMS
leaves during the quiet hours, even one that became due before them."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

from omniguichet.core.actors import Actor
from omniguichet.crm.models import Contact
from omniguichet.outreach.models import OutboundMessage
from omniguichet.outreach.services import SMS_MAX, dispatch_due, merge_released, send_to_person

PARIS = ZoneInfo("Europe/Paris")
SYSTEM = Actor.system("test")


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def sms(person, key, text, at, **kwargs) -> OutboundMessage:
    [message] = send_to_person(actor=SYSTEM, person=person, idempotency_key=key, subject=text, body=text,
                               channel_policy="sms", at=at, **kwargs)  # fmt: skip
    return message


def sink(outbox) -> list[dict]:
    path = outbox / "sms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_sms_beyond_the_cap_are_merged_into_one_digest_when_released(mobile_only, _outbox):
    start = paris(2026, 6, 10, 10, 0)
    sent = [sms(mobile_only, f"m{i}", f"Message {i}", start + dt.timedelta(minutes=i)) for i in range(5)]
    assert [m.capped for m in sent] == [False, False, False, True, True]
    assert dispatch_due(now=start + dt.timedelta(minutes=2)).sent == 3  # all three go at 10:02
    assert merge_released(now=start + dt.timedelta(hours=2)) == 0  # the capped ones are not due yet

    # The next day the 4th is released: the 5th, still pending, is merged with it; the digest goes once the
    # first of the three has left the 24 hours (sent at 10:02, not at its planned 10:00).
    assert dispatch_due(now=paris(2026, 6, 11, 10, 1)).held == 1
    released = paris(2026, 6, 11, 10, 2, 30)
    assert dispatch_due(now=released).sent == 1
    digest = OutboundMessage.objects.get(rule="digest")
    assert digest.idempotency_key == f"digest:sms:{sent[3].pk}"
    assert (digest.state, digest.recipient, digest.not_before) == (
        "sent",
        "+33612345678",
        paris(2026, 6, 11, 10, 2),  # moved by the cap at 10:01 to the first moment a place is free
    )
    assert digest.body == "2 messages grouped together:\nMessage 3\nMessage 4"
    for member in OutboundMessage.objects.filter(pk__in=[sent[3].pk, sent[4].pk]):
        assert (member.state, member.merged_into_id, member.sent_at) == ("merged", digest.pk, None)
    # The three of one batch go out in any order (sent in parallel), then the digest.
    keys = [line["key"] for line in sink(_outbox)]
    assert sorted(keys[:3]) == sorted(m.idempotency_key for m in sent[:3]) and keys[3:] == [
        digest.idempotency_key
    ]
    # One outbound contact for the digest in the record; nothing for the merged messages.
    assert Contact.objects.filter(source="outreach").count() == 4
    # Again: nothing more is merged or sent.
    assert merge_released(now=released) == 0
    assert dispatch_due(now=released + dt.timedelta(days=2)).sent == 0
    assert len(sink(_outbox)) == 4


def test_merged_messages_free_their_places_under_the_cap(mobile_only):
    start = paris(2026, 6, 10, 10, 0)
    sent = [sms(mobile_only, f"m{i}", f"Message {i}", start + dt.timedelta(minutes=i)) for i in range(5)]
    dispatch_due(now=start + dt.timedelta(minutes=4))  # the first three go at 10:04
    dispatch_due(now=paris(2026, 6, 11, 10, 4, 30))  # digest of the 4th and 5th, sent at 10:04:30
    # In the 24 hours ending 11 June 10:05 only the digest was sent: two more SMS fit; the third waits until the
    # digest's send time (not its planned time, 10:00) leaves the 24 hours.
    later = [sms(mobile_only, f"n{i}", f"New {i}", paris(2026, 6, 11, 10, 5)) for i in range(3)]
    assert [m.not_before for m in later[:2]] == [paris(2026, 6, 11, 10, 5)] * 2
    assert later[2].capped and later[2].not_before == paris(2026, 6, 12, 10, 4, 30)
    assert sent[4].pk != later[2].pk


def test_a_message_that_must_arrive_alone_is_deferred_not_merged(mobile_only, _outbox):
    start = paris(2026, 6, 10, 10, 0)
    for i in range(3):
        sms(mobile_only, f"m{i}", f"Message {i}", start)
    code = sms(mobile_only, "code", "Votre code : 123456", start, mergeable=False)
    other = sms(mobile_only, "other", "Autre", start)
    assert (code.capped, code.not_before) == (False, paris(2026, 6, 11, 10, 0))
    assert other.capped and other.not_before == paris(2026, 6, 11, 10, 0)
    dispatch_due(now=start)
    assert (
        dispatch_due(now=paris(2026, 6, 11, 10, 1)).sent == 2
    )  # the code alone, the other alone (no partner)
    assert not OutboundMessage.objects.filter(rule="digest").exists()
    assert {line["text"] for line in sink(_outbox)} >= {"Votre code : 123456", "Autre"}


def test_a_digest_holds_what_fits_in_one_sms_and_the_rest_waits(mobile_only):
    start = paris(2026, 6, 10, 10, 0)
    for i in range(3):
        sms(mobile_only, f"m{i}", f"Message {i}", start)
    long_text = "x" * 190
    capped = [sms(mobile_only, f"long{i}", f"{i} {long_text}", start) for i in range(4)]
    assert all(m.capped for m in capped)
    # Three of them go the next day at 10:00 (the cap frees up), the 4th on the day after.
    assert [m.not_before.day for m in capped] == [11, 11, 11, 12]
    dispatch_due(now=start)
    assert dispatch_due(now=paris(2026, 6, 11, 10, 0, 1)).sent == 2
    first, second = OutboundMessage.objects.filter(rule="digest").order_by("id")
    assert len(first.body) <= SMS_MAX and first.body.count(long_text) == 2
    # The 3rd did not fit: it was due too, so it starts a second digest with the 4th, still pending.
    assert second.idempotency_key == f"digest:sms:{capped[2].pk}" and second.body.count(long_text) == 2
    merged_into = dict(
        OutboundMessage.objects.filter(pk__in=[m.pk for m in capped]).values_list("pk", "merged_into")
    )
    assert [merged_into[m.pk] for m in capped] == [first.pk, first.pk, second.pk, second.pk]


def test_no_sms_leaves_during_the_quiet_hours_even_if_due_before(mobile_only, with_account, _outbox):
    due = sms(mobile_only, "late", "Bonsoir", paris(2026, 3, 28, 19, 59))
    assert due.quiet_hours
    [inbox] = send_to_person(actor=SYSTEM, person=with_account, idempotency_key="in", subject="S", body="B",
                             channel_policy="inbox", at=paris(2026, 3, 28, 19, 59))  # fmt: skip
    # A message the person asked for and waits for (a one-time code) is not held by the quiet hours.
    code = OutboundMessage.objects.create(
        idempotency_key="request:code:sms", person=mobile_only, channel="sms", recipient="+33612345678",
        body="Code 123456", not_before=paris(2026, 3, 28, 20, 0), created_at=paris(2026, 3, 28, 20, 0),
    )  # fmt: skip
    report = dispatch_due(now=paris(2026, 3, 28, 20, 1))  # the dispatcher comes two minutes late
    assert report.sent == 2  # the inbox message and the code
    due.refresh_from_db()
    assert due.state == "queued" and [line["key"] for line in sink(_outbox)] == [code.idempotency_key]
    assert dispatch_due(now=paris(2026, 3, 29, 7, 59)).sent == 0  # still night (summer time began at 02:00)
    assert dispatch_due(now=paris(2026, 3, 29, 8, 0)).sent == 1
    assert [line["key"] for line in sink(_outbox)] == [code.idempotency_key, due.idempotency_key]
    inbox.refresh_from_db()
    assert inbox.state == "delivered"


def test_the_digest_speaks_french(mobile_only):
    from django.utils import translation

    start = paris(2026, 6, 10, 10, 0)
    for i in range(5):
        sms(mobile_only, f"m{i}", f"Message {i}", start)
    with translation.override("fr"):
        assert merge_released(now=paris(2026, 6, 11, 10, 0)) == 1
    digest = OutboundMessage.objects.get(rule="digest")
    assert digest.body == "Assurance Maladie, 2 messages regroupés :\nMessage 3\nMessage 4"


def test_any_channel_may_have_its_cap_and_its_digest(mobile_only, settings, mailoutbox):
    settings.OUTREACH_DAILY_CAPS = {"email": 2}
    start = paris(2026, 6, 10, 22, 0)  # e-mails have no quiet hours

    def email(key, subject):
        [message] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key=key, subject=subject,
                                   body=f"Texte {key}", channel_policy="email", at=start)  # fmt: skip
        return message

    sent = [email(f"e{i}", f"Objet {i}") for i in range(4)]
    assert [m.capped for m in sent] == [False, False, True, True]
    assert [m.not_before for m in sent] == [
        start,
        start,
        start + dt.timedelta(days=1),
        start + dt.timedelta(days=1),
    ]
    assert dispatch_due(now=start).sent == 2
    assert dispatch_due(now=start + dt.timedelta(days=1)).sent == 1
    digest = OutboundMessage.objects.get(rule="digest")
    assert digest.channel == "email" and digest.subject == "2 messages from your health insurance"
    assert digest.body == "Objet 2\nTexte e2\n\nObjet 3\nTexte e3"
    assert [m.subject for m in mailoutbox] == ["Objet 0", "Objet 1", "2 messages from your health insurance"]
    # SMS keep their own cap (3), uncapped channels none.
    assert all(not m.capped for m in [sms(mobile_only, f"s{i}", "S", start) for i in range(3)])


def test_quiet_hours_all_day_hold_the_platform_sms_but_not_the_codes(mobile_only, settings, _outbox):
    settings.OUTREACH_SMS_QUIET_FROM, settings.OUTREACH_SMS_QUIET_UNTIL = 0, 24
    held = sms(mobile_only, "held", "Bonjour", paris(2026, 6, 10, 12, 0))
    assert held.not_before == paris(2026, 6, 11, 0, 0)  # the next midnight: no crash on "24"
    code = OutboundMessage.objects.create(
        idempotency_key="request:c:sms", person=mobile_only, channel="sms", recipient="+33612345678", body="Code",
        not_before=paris(2026, 6, 10, 12, 0), created_at=paris(2026, 6, 10, 12, 0),
    )  # fmt: skip
    assert dispatch_due(now=paris(2026, 6, 11, 12, 0)).sent == 1
    assert [line["key"] for line in sink(_outbox)] == [code.idempotency_key]
