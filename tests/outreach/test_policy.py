import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from omniguichet.core.actors import Actor
from omniguichet.core.errors import InvalidInput
from omniguichet.outreach.models import MessageRule, MessageTemplate, OutboundMessage
from omniguichet.outreach.services import (
    Reach,
    check_template,
    choose_channels,
    outside_quiet_hours,
    parse_policy,
    send_to_person,
)
from omniguichet.referential.models import ChannelPreference, Consent

PARIS = ZoneInfo("Europe/Paris")
SYSTEM = Actor.system("test")


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_policy_parsing():
    assert parse_policy("inbox+push>sms>email>letter") == [["inbox", "push"], ["sms"], ["email"], ["letter"]]
    for bad in ("", "fax", "sms>sms", "inbox+"):
        with pytest.raises(ValueError):
            parse_policy(bad)


@pytest.mark.parametrize(
    ("reach", "expected"),
    [
        (Reach(account=True, app=True, mobile="+33600000000"), ["inbox", "push"]),
        (Reach(account=True, app=False), ["inbox"]),
        (Reach(mobile="+33600000000", email="a@b.fr"), ["sms"]),
        (Reach(mobile="+33600000000", email="a@b.fr", sms_allowed=False), ["email"]),
        (Reach(email="a@b.fr", email_allowed=False, address="1 rue X, 75001 Paris"), ["letter"]),
        (Reach(address="1 rue X", paper_allowed=False), []),
        (Reach(mobile="+33600000000", consent_refused=True), []),
        (Reach(account=True, app=True, mobile="+33600000000", consent_refused=True), ["inbox"]),
        (Reach(account=True, mobile="+33600000000", preferred="sms"), ["sms"]),
    ],
)
def test_fallback_chain(reach, expected):
    assert choose_channels(reach, "inbox+push>sms>email>letter") == expected


@pytest.mark.parametrize(
    ("planned", "expected"),
    [
        # Winter time (UTC+1) and summer time (UTC+2), the days before and after each change of 2026.
        (paris(2026, 3, 28, 19, 59), paris(2026, 3, 28, 19, 59)),
        (paris(2026, 3, 28, 20, 1), paris(2026, 3, 29, 8, 0)),
        (paris(2026, 3, 29, 19, 59), paris(2026, 3, 29, 19, 59)),
        (paris(2026, 3, 29, 20, 1), paris(2026, 3, 30, 8, 0)),
        (paris(2026, 10, 24, 19, 59), paris(2026, 10, 24, 19, 59)),
        (paris(2026, 10, 24, 20, 1), paris(2026, 10, 25, 8, 0)),
        (paris(2026, 10, 25, 19, 59), paris(2026, 10, 25, 19, 59)),
        (paris(2026, 10, 25, 20, 1), paris(2026, 10, 26, 8, 0)),
        (paris(2026, 10, 26, 7, 59), paris(2026, 10, 26, 8, 0)),
        (paris(2026, 10, 26, 0, 30), paris(2026, 10, 26, 8, 0)),
    ],
)
def test_quiet_hours_on_both_sides_of_dst(planned, expected):
    assert outside_quiet_hours(planned) == expected


def test_sms_at_2001_is_deferred_not_dropped(mobile_only, with_account):
    # 28 March 2026 is the eve of the change to summer time: 20:01 CET is deferred to 08:00 CEST, 06:00 UTC.
    [late] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="late", subject="S", body="B",
                            channel_policy="sms", at=paris(2026, 3, 28, 20, 1))  # fmt: skip
    [early] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="early", subject="S", body="B",
                             channel_policy="sms", at=paris(2026, 3, 28, 19, 59))  # fmt: skip
    assert late.state == "queued" and late.not_before == dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)
    assert early.not_before == dt.datetime(2026, 3, 28, 18, 59, tzinfo=dt.UTC)
    # The account inbox has no quiet hours.
    [inbox] = send_to_person(actor=SYSTEM, person=with_account, idempotency_key="inbox", subject="S", body="B",
                             channel_policy="inbox", at=paris(2026, 3, 28, 23, 0))  # fmt: skip
    assert inbox.not_before == paris(2026, 3, 28, 23, 0)


def test_frequency_cap_defers_the_fourth_sms_of_the_day(mobile_only):
    start = paris(2026, 6, 10, 10, 0)
    times = []
    for i in range(5):
        [m] = send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key=f"cap-{i}", subject="S", body="B",
                             channel_policy="sms", at=start + dt.timedelta(minutes=i))  # fmt: skip
        times.append(m.not_before.astimezone(PARIS))
    assert times[:3] == [start, start + dt.timedelta(minutes=1), start + dt.timedelta(minutes=2)]
    # Beyond 3 in 24 hours: deferred until the first ones leave the window.
    assert times[3] == paris(2026, 6, 11, 10, 0)
    assert times[4] == paris(2026, 6, 11, 10, 1)
    # Other channels are not capped.
    emails = [
        send_to_person(
            actor=SYSTEM,
            person=mobile_only,
            idempotency_key=f"mail-{i}",
            subject="S",
            body="B",
            channel_policy="email",
            at=start,
        )[0].not_before
        for i in range(5)
    ]
    assert set(emails) == {start}


def test_cap_deferral_respects_quiet_hours(mobile_only):
    start = paris(2026, 6, 10, 19, 0)
    results = [
        send_to_person(
            actor=SYSTEM,
            person=mobile_only,
            idempotency_key=f"q-{i}",
            subject="S",
            body="B",
            channel_policy="sms",
            at=start,
        )[0].not_before
        for i in range(4)
    ]
    # The 4th would go at 19:00 the next day: allowed (before 20:00).
    assert results[3].astimezone(PARIS) == paris(2026, 6, 11, 19, 0)


def test_send_to_person_is_idempotent_and_respects_preferences(mobile_only):
    first = send_to_person(
        actor=SYSTEM, person=mobile_only, idempotency_key="k1", subject="Hello", body="Body"
    )
    again = send_to_person(
        actor=SYSTEM, person=mobile_only, idempotency_key="k1", subject="Hello", body="Body"
    )
    assert [m.pk for m in first] == [m.pk for m in again]
    assert [m.channel for m in first] == ["sms"]
    assert (
        first[0].recipient == "+33612345678" and first[0].body == "Hello"
    )  # SMS text defaults to the subject
    ChannelPreference.objects.create(person=mobile_only, sms_allowed=False)
    [mail] = send_to_person(
        actor=SYSTEM, person=mobile_only, idempotency_key="k2", subject="Hello", body="Body"
    )
    assert (mail.channel, mail.recipient) == ("email", "paul.martin@example.org")
    Consent.objects.create(person=mobile_only, purpose="proactive_messages", granted=False, channel="web",
                           decided_at=timezone.now())  # fmt: skip
    assert (
        send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="k3", subject="Hi", body="B") == []
    )
    assert OutboundMessage.objects.count() == 2


def test_send_to_person_refuses_bad_input(mobile_only):
    with pytest.raises(InvalidInput) as exc:
        send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="", subject="", body="x",
                       channel_policy="fax")  # fmt: skip
    assert set(exc.value.fields) == {"idempotency_key", "channel_policy", "subject"}
    with pytest.raises(InvalidInput) as exc:
        send_to_person(actor=SYSTEM, person=mobile_only, idempotency_key="t", template_code="payment-made",
                       context={"amount": "3 €"})  # fmt: skip
    assert "missing variables" in exc.value.fields["context"]
    with pytest.raises(InvalidInput) as exc:
        send_to_person(
            actor=SYSTEM, person=mobile_only, idempotency_key="m", subject="S", body="B", motive="nope"
        )
    assert exc.value.fields == {"motive": "unknown motive"}


def test_templates_with_a_missing_variable_are_refused_when_saved(db):
    with pytest.raises(ValidationError) as exc:
        MessageTemplate.objects.create(code="t1", event_type="payment", subject="Paid {amount}",
                                       body="Hello {first_name} {iban}", sms_body="{amount}")  # fmt: skip
    assert "iban" in str(exc.value.message_dict["body"])
    with pytest.raises(ValidationError):
        MessageTemplate.objects.create(code="t2", subject="{first_name.__class__}", body="b", sms_body="s")
    assert not MessageTemplate.objects.filter(code__in=["t1", "t2"]).exists()
    # A payment template cannot serve a rule of another event type: refused when the rule is saved.
    payment = MessageTemplate.objects.get(code="payment-made")
    with pytest.raises(ValidationError) as exc:
        MessageRule.objects.create(code="bad", event_type="opened", template=payment)
    assert "amount" in str(exc.value.message_dict["template"])
    with pytest.raises(ValidationError):
        MessageRule.objects.create(code="bad2", event_type="payment", template=payment, channel_policy="fax")


def test_default_rules_and_templates_are_valid(db):
    rules = {r.code: r for r in MessageRule.objects.select_related("template")}
    assert set(rules) == {"case-opened", "document-missing", "payment-made", "card-shipped", "decision"}
    for rule in rules.values():
        rule.full_clean()
        assert check_template(rule.event_type, subject=rule.template.subject, body=rule.template.body,
                              sms_body=rule.template.sms_body) == {}  # fmt: skip
    assert rules["document-missing"].reminder_after_days == 7


@pytest.mark.parametrize(
    ("fired", "sent"),
    [
        (paris(2026, 3, 28, 19, 59), paris(2026, 3, 28, 19, 59)),  # the eve of summer time
        (paris(2026, 3, 28, 20, 1), paris(2026, 3, 29, 8, 0)),
        (paris(2026, 3, 29, 19, 59), paris(2026, 3, 29, 19, 59)),  # the first day of summer time
        (paris(2026, 3, 29, 20, 1), paris(2026, 3, 30, 8, 0)),
        (paris(2026, 10, 24, 20, 1), paris(2026, 10, 25, 8, 0)),  # the eve of winter time
        (paris(2026, 10, 25, 19, 59), paris(2026, 10, 25, 19, 59)),  # the first day of winter time
        (paris(2026, 10, 25, 20, 1), paris(2026, 10, 26, 8, 0)),
    ],
)
def test_a_rule_firing_at_night_defers_its_sms(mobile_only, monkeypatch, fired, sent):
    from omniguichet.cases.services import ingest_case_events
    from tests.cases.conftest import event, opened

    monkeypatch.setattr(timezone, "now", lambda: fired.astimezone(dt.UTC))
    ingest_case_events(actor=SYSTEM, source="t", rows=[
        opened("IJ-N", mobile_only) | {"occurred_at": (fired - dt.timedelta(hours=2)).isoformat()},
        event("IJ-N", 2, "payment", {"amount": "50"}, occurred_at=fired - dt.timedelta(minutes=1)),
    ])  # fmt: skip
    sms = OutboundMessage.objects.get(rule="payment-made", channel="sms")
    assert sms.not_before == sent and sms.state == "queued"
