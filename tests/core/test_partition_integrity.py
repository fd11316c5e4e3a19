"""The references into the partitioned tables keep a database guarantee (docs/scale.md, "Foreign keys into the
partitioned tables"): `Call.contact` and `OutboundMessage.merged_into` lost their foreign keys when the contact table
and the ledger were partitioned on PostgreSQL; constraint triggers check them there (telephony.0003, outreach.0006),
and the real foreign keys are back on SQLite, which keeps one table each. Raw SQL, so that Django's own collector
(on_delete=PROTECT) is not what refuses: the database must."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from omniguichet.crm.models import Contact
from omniguichet.outreach.models import OutboundMessage
from omniguichet.telephony.models import Call

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def contact(person, started_at: dt.datetime = NOW) -> Contact:
    return Contact.objects.create(
        person=person, caisse_id=person.caisse_id, channel="phone", direction="inbound",
        motive_id="remboursement", started_at=started_at, actor_kind="system",
    )  # fmt: skip


def call(call_id: str, contact_id: int | None) -> Call:
    return Call.objects.create(
        call_id=call_id, direction="inbound", started_at=NOW, motive_id="remboursement", contact_id=contact_id
    )


def message(person, key: str, created_at: dt.datetime = NOW) -> OutboundMessage:
    return OutboundMessage.objects.create(
        idempotency_key=key, person=person, channel="email", recipient="x@example.org", body="b",
        not_before=created_at, created_at=created_at,
    )  # fmt: skip


def refused(sql: str, params: list) -> None:
    """The statement, then the deferred checks at once (as the commit would): the database refuses."""
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        connection.check_constraints()


def accepted(sql: str, params: list) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        connection.check_constraints()


def test_a_call_to_a_missing_contact_is_refused(make_person):
    person = make_person()
    real = contact(person)
    missing = real.pk + 1000
    refused(
        "INSERT INTO telephony_call (call_id, direction, from_number, to_number, status, started_at, ivr_choice,"
        " motive_id, callback_offered, updated_at, contact_id)"
        " VALUES ('c-1', 'inbound', '', '', 'ended', %s, '', 'remboursement', false, %s, %s)",
        [NOW, NOW, missing],
    )
    one = call("c-2", None)
    refused("UPDATE telephony_call SET contact_id = %s WHERE id = %s", [missing, one.pk])
    accepted("UPDATE telephony_call SET contact_id = %s WHERE id = %s", [real.pk, one.pk])


def test_the_contact_of_a_call_cannot_be_deleted(make_person):
    person = make_person()
    kept, free = contact(person), contact(person)
    call("c-1", kept.pk)
    refused("DELETE FROM crm_contact WHERE id = %s", [kept.pk])
    accepted("DELETE FROM crm_contact WHERE id = %s", [free.pk])
    assert Contact.objects.filter(pk=kept.pk).exists()


def test_a_contact_of_a_call_may_move_to_another_month(make_person):
    """On PostgreSQL the move is a delete from one partition and an insert into another: not refused."""
    person = make_person()
    kept = contact(person)
    call("c-1", kept.pk)
    accepted("UPDATE crm_contact SET started_at = %s WHERE id = %s", [NOW - dt.timedelta(days=62), kept.pk])
    accepted("UPDATE crm_contact SET started_at = %s WHERE id = %s", [NOW, kept.pk])


def test_a_message_merged_into_a_missing_digest_is_refused(make_person):
    person = make_person()
    member = message(person, "m-1")
    refused(
        "UPDATE outreach_outboundmessage SET state = 'merged', merged_into_id = %s WHERE id = %s",
        [member.pk + 1000, member.pk],
    )
    digest = message(person, "d-1")
    accepted(
        "UPDATE outreach_outboundmessage SET state = 'merged', merged_into_id = %s WHERE id = %s",
        [digest.pk, member.pk],
    )


def test_a_digest_with_members_cannot_be_deleted(make_person):
    person = make_person()
    digest, member, alone = message(person, "d-1"), message(person, "m-1"), message(person, "a-1")
    OutboundMessage.objects.filter(pk=member.pk).update(state="merged", merged_into=digest)
    refused("DELETE FROM outreach_outboundmessage WHERE id = %s", [digest.pk])
    accepted("DELETE FROM outreach_outboundmessage WHERE id = %s", [alone.pk])
    # The digest and its members together: nothing is left pointing at it.
    accepted("DELETE FROM outreach_outboundmessage WHERE id IN (%s, %s)", [digest.pk, member.pk])


def test_the_guarantee_is_of_the_database():
    """Where each guarantee lives: constraint triggers on PostgreSQL, real foreign keys on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgconstraint <> 0 AND tgname IN ("
                "'telephony_call_contact_exists', 'telephony_call_contact_protect',"
                " 'outreach_merged_into_exists', 'outreach_merged_into_protect') AND tgparentid = 0"
            )
            assert len(cursor.fetchall()) == 4
        else:
            cursor.execute("PRAGMA foreign_key_list(telephony_call)")
            assert ("crm_contact", "contact_id") in {(row[2], row[3]) for row in cursor.fetchall()}
            cursor.execute("PRAGMA foreign_key_list(outreach_outboundmessage)")
            assert ("outreach_outboundmessage", "merged_into_id") in {
                (row[2], row[3]) for row in cursor.fetchall()
            }
