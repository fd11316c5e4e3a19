import datetime as dt

import pytest
from django.utils import timezone

from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.crm.models import Contact
from omniguichet.outreach.models import OutboundMessage
from omniguichet.referential.models import ChannelPreference, ContactPoint
from omniguichet.telephony import services
from omniguichet.telephony.models import Call, CallEvent, CallStatus
from tests.telephony.conftest import call_lines, ingest, line, new_call_id


def statuses(report):
    return [r.status for r in report.results]


def test_a_whole_call_is_stored_and_ends_in_one_contact(paris_person, phone_agent):
    call_id = new_call_id()
    report = ingest(call_lines(call_id, waited=45, talk=300, ivr="2"))
    assert statuses(report) == ["stored"] * 5
    call = Call.objects.get(call_id=call_id)
    assert (call.status, call.person_id, call.agent_id) == (CallStatus.ENDED, paris_person.pk, phone_agent.pk)
    assert (call.waited_seconds, call.duration_seconds, call.motive_id) == (45, 300, "ij_suivi")
    contact = Contact.objects.get(person=paris_person)
    assert call.contact_id == contact.pk
    assert (contact.channel, contact.direction, contact.answered, contact.waited_seconds) == (
        "phone", "inbound", True, 45
    )  # fmt: skip
    assert contact.motive_id == "ij_suivi"
    assert (contact.source, contact.external_id, contact.caisse_id) == ("telephony", call_id, "751")
    assert contact.actor_kind == "system" and contact.agent_id is None  # the agent is on the call
    assert "300 s" in contact.note
    assert not OutboundMessage.objects.exists()


def test_replaying_the_batch_changes_nothing(paris_person, phone_agent):
    rows = call_lines(new_call_id())
    ingest(rows)
    before = (CallEvent.objects.count(), Call.objects.count(), Contact.objects.count())
    again = ingest(rows)
    assert statuses(again) == ["duplicate"] * 5
    assert (CallEvent.objects.count(), Call.objects.count(), Contact.objects.count()) == before == (5, 1, 1)


def test_a_line_twice_in_one_batch_is_a_duplicate(paris_person):
    call_id = new_call_id()
    rows = call_lines(call_id, agent=None)
    report = ingest([*rows, rows[0]])
    assert statuses(report)[-1] == "duplicate"
    assert CallEvent.objects.filter(call_id=call_id).count() == 4


def test_out_of_order_events_are_held_until_the_new_arrives(paris_person, phone_agent):
    call_id = new_call_id()
    new, ivr, queued, answer, hangup = call_lines(call_id, waited=12, talk=60)
    first = ingest([hangup, answer, queued])
    assert statuses(first) == ["held"] * 3
    assert not Call.objects.exists() and not Contact.objects.exists()
    second = ingest([ivr, new])
    assert statuses(second) == ["stored", "stored"]
    assert second.released == 3 and second.ended == 1
    call = Call.objects.get(call_id=call_id)
    assert (call.status, call.waited_seconds, call.duration_seconds) == (CallStatus.ENDED, 12, 60)
    assert Contact.objects.get().answered is True
    assert not CallEvent.objects.filter(applied=False).exists()


def test_hangup_before_answer_in_one_batch_is_applied_in_sequence(paris_person, phone_agent):
    call_id = new_call_id()
    rows = call_lines(call_id, waited=5)
    report = ingest(list(reversed(rows)))
    assert statuses(report) == ["stored"] * 5
    assert Contact.objects.get().answered is True


def test_an_event_after_the_call_ended_is_refused(paris_person, phone_agent):
    call_id = new_call_id()
    new, ivr, queued, answer, hangup = call_lines(call_id)
    ingest([new, ivr, queued, hangup])
    late = ingest([answer])
    assert late.results[0].status == "error"
    assert "already ended" in late.results[0].fields["event"]
    assert not CallEvent.objects.filter(event="answer").exists()


def test_abandoned_call_counts_unanswered_with_the_wait_until_hangup(paris_person):
    ingest(call_lines(new_call_id(), agent=None, waited=25))
    contact = Contact.objects.get()
    assert (contact.answered, contact.waited_seconds, contact.outcome) == (False, 25, "pending")
    assert contact.agent_id is None
    assert not OutboundMessage.objects.exists()  # 25 s: no call-back offer


def test_abandoned_after_30_s_offers_a_callback_by_sms(paris_person):
    call_id = new_call_id()
    report = ingest(call_lines(call_id, agent=None, waited=31))
    assert report.callbacks_offered == 1
    message = OutboundMessage.objects.get()
    assert message.channel == "sms" and message.recipient == "+33698765432"
    assert "/compte/rendez-vous/" in message.body
    assert Call.objects.get(call_id=call_id).callback_offered
    ingest(call_lines(call_id, agent=None, waited=31))  # a replay offers nothing more
    assert OutboundMessage.objects.count() == 1


def test_no_callback_offer_when_sms_is_not_allowed(paris_person):
    ChannelPreference.objects.create(person=paris_person, sms_allowed=False)
    report = ingest(call_lines(new_call_id(), agent=None, waited=90))
    assert report.callbacks_offered == 0
    assert not OutboundMessage.objects.exists()
    assert Contact.objects.get().answered is False


def test_no_callback_offer_after_an_answered_call(paris_person, phone_agent):
    ingest(call_lines(new_call_id(), waited=120))
    assert not OutboundMessage.objects.exists()


def test_only_a_verified_number_identifies_the_caller(make_person, phone_agent):
    person = make_person()
    ContactPoint.objects.create(person=person, kind="mobile", value="+33655554444", verified=False)
    call_id = new_call_id()
    ingest(call_lines(call_id, caller="06 55 55 44 44"))
    call = Call.objects.get(call_id=call_id)
    assert call.person_id is None and call.from_number == "+33655554444"
    assert not Contact.objects.exists()  # nobody to write it for
    ContactPoint.objects.filter(person=person).update(verified=True, verified_at=timezone.now())
    other = new_call_id()
    ingest(call_lines(other, caller="06 55 55 44 44"))
    assert Call.objects.get(call_id=other).person_id == person.pk
    assert Contact.objects.get().person_id == person.pk


def test_national_numbers_are_normalised(paris_person, phone_agent):
    call_id = new_call_id()
    ingest(call_lines(call_id, caller="06 98 76 54 32"))
    assert Call.objects.get(call_id=call_id).person_id == paris_person.pk


def test_ivr_choices_map_to_motives_with_a_default(paris_person, phone_agent):
    assert services.motive_for("3") == "carte_vitale"
    assert services.motive_for("css") == "css"
    assert services.motive_for("42") == services.DEFAULT_MOTIVE
    assert services.motive_for("") == services.DEFAULT_MOTIVE
    assert set(services.IVR_MOTIVES.values()) <= services.active_motives()


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"event": "ringing"}, "event", "unknown event"),
        ({"at": "yesterday"}, "at", "ISO 8601"),
        ({"at": "2026-03-01T09:30:00"}, "at", "time zone"),
        ({"at": "2099-03-01T09:30:00+01:00"}, "at", "future"),
        ({"call_id": None}, "call_id", "required"),
        ({"call_id": ""}, "call_id", "required"),
        ({"direction": "sideways"}, "direction", "inbound or outbound"),
        ({"event": "ivr", "ivr_choice": None}, "ivr_choice", "required"),
        ({"event": "answer"}, "agent", "required"),
        ({"event": "answer", "agent": "nobody-here"}, "agent", "no agent"),
        ({"call_id": "a\x00b"}, "call_id", "control character"),
    ],
)
def test_bad_lines_name_their_field_and_write_nothing(db, change, field, reason):
    row = line("bad-1", "new", timezone.now() - dt.timedelta(minutes=1))
    row.update(change)
    report = ingest([row, line("good-1", "new", timezone.now())])
    bad, good = report.results
    assert bad.status == "error" and reason in bad.fields[field], bad.fields
    assert good.status == "stored"
    assert list(CallEvent.objects.values_list("call_id", flat=True)) == ["good-1"]


def test_a_line_that_is_not_an_object(db):
    report = ingest(["new", 3])
    assert statuses(report) == ["error", "error"]
    assert "line" in report.results[0].fields


def test_too_many_lines_is_refused_whole(db):
    row = line("x", "new", timezone.now())
    with pytest.raises(InvalidInput) as exc:
        ingest([row] * (services.MAX_BATCH + 1))
    assert "body" in exc.value.fields
    assert not CallEvent.objects.exists()


def test_only_the_platform_sends_events(phone_agent):
    from omniguichet.core.actors import Actor, Channel

    with pytest.raises(Forbidden):
        services.ingest_events(actor=Actor.agent(phone_agent), channel=Channel.BACKOFFICE, rows=[])


def test_answer_of_another_caisse_agent_counts_for_the_callers_caisse(paris_person, phone_agent_ain):
    ingest(call_lines(new_call_id(), agent="tel-ain"))
    contact = Contact.objects.get()
    assert contact.actor_kind == "system" and contact.caisse_id == "751" and contact.answered is True


def test_an_outbound_call_is_stored_without_contact_nor_screen_pop(paris_person, phone_agent):
    from omniguichet.core.actors import Actor
    from omniguichet.telephony.services import next_screen_pop

    call_id = new_call_id()
    rows = call_lines(call_id, caller="3646", start=timezone.now() - dt.timedelta(minutes=2))
    for row in rows:
        row.update(direction="outbound", to="+33698765432")
    assert statuses(ingest(rows)) == ["stored"] * 5
    call = Call.objects.get(call_id=call_id)
    assert call.person_id == paris_person.pk and call.status == CallStatus.ENDED
    assert not Contact.objects.exists()  # the agent records an outbound call from the record
    assert next_screen_pop(actor=Actor.agent(phone_agent)) is None
