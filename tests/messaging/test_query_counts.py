"""How many queries a person's message takes through the API (issue 17's speed target: each is a round trip to
PostgreSQL). The counts are locked so that a change adding a query to the hot path is seen."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from omniguichet.baskets.models import WorkItem
from omniguichet.crm.models import Contact, Motive
from omniguichet.messaging.models import Message, Thread
from tests.crm.conftest import client_for

NEW = {
    "motive": "remboursement",
    "subject": "Remboursement",
    "body": "Bonjour, où en est mon remboursement ?",
}


def _post(client, url, payload):
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url, payload, content_type="application/json")
    assert response.status_code == 201, response.content
    # Transaction control (SAVEPOINT here, BEGIN/COMMIT outside the test's transaction) is not counted.
    return response, [
        q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


def test_a_message_takes_a_fixed_number_of_queries(insured, django_capture_on_commit_callbacks):
    person, user = insured
    app = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):  # as after a commit: the routing is remembered
        app.post(
            "/api/v1/me/threads", NEW, content_type="application/json"
        )  # warm-up: the token's last use, caches
    response, sqls = _post(app, "/api/v1/me/threads", NEW)
    # token, person, INSERT thread, INSERT work item, INSERT message, INSERT contact: the motive, the routing rules
    # and the basket are not read (remembered by the process), nor the files written (none), nor the new item.
    assert len(sqls) == 6, sqls
    assert not any(s.startswith("SELECT") and 'FROM "baskets_' in s for s in sqls), sqls
    assert not any('FROM "crm_motive"' in s or 'FROM "messaging_attachment"' in s for s in sqls), sqls
    thread_id = response.json()["thread"]["id"]
    assert response.json()["message"]["attachments"] == []
    _r, sqls = _post(app, f"/api/v1/me/threads/{thread_id}/messages", {"body": "Encore moi."})
    # token, person, the thread read once (locked), UPDATE thread, UPDATE work item (re-opened in place, not read),
    # INSERT message, INSERT contact: the basket is not read, nor the thread twice, nor the item.
    assert len(sqls) == 7, sqls
    assert not any('FROM "baskets_workitem"' in s for s in sqls), sqls
    assert sum('FROM "messaging_thread"' in s for s in sqls) == 1, sqls
    assert not any('FROM "baskets_basket"' in s for s in sqls), sqls
    # What the queries wrote is all there.
    assert Message.objects.filter(thread__person=person).count() == 3
    assert Contact.objects.filter(person=person, channel="secure_message").count() == 3
    assert WorkItem.objects.get(kind="message", subject_id=thread_id).is_open
    assert Thread.objects.get(pk=thread_id).messages.count() == 2


def test_a_motive_changed_in_the_process_is_seen_at_once(insured):
    _person, user = insured
    app = client_for(user)
    assert app.post("/api/v1/me/threads", NEW, content_type="application/json").status_code == 201
    motive = Motive.objects.get(pk="remboursement")
    motive.active = False
    motive.save()  # the admin's save: the process's cache is forgotten
    refused = app.post("/api/v1/me/threads", NEW, content_type="application/json")
    assert refused.status_code == 422 and "motive" in refused.json()["error"]["fields"]
    # Added by another process (no signal here: a bulk insert): read again because the cache does not know it.
    Motive.objects.bulk_create([Motive(code="mutuelle_test", label="Mutuelle (test)")])
    added = app.post(
        "/api/v1/me/threads", {**NEW, "motive": "mutuelle_test"}, content_type="application/json"
    )
    assert added.status_code == 201, added.content


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_an_email_takes_a_fixed_number_of_queries(make_person, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from omniguichet.messaging.services import receive_email
    from omniguichet.referential.models import ContactPoint
    from tests.messaging.test_mailin import SENDER, mail

    person = make_person(family_name="Martin", given_names="Claire")
    ContactPoint.objects.create(
        person=person, kind="email", value=SENDER, verified=True, verified_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):  # the process's caches, as after a commit
        receive_email(caisse_code="751", data=mail(msgid="<warm@example.org>").as_bytes())
    with CaptureQueriesContext(connection) as ctx:
        first = receive_email(caisse_code="751", data=mail(msgid="<one@example.org>").as_bytes())
    # Message-ID seen?, sender, INSERT thread, INSERT work item, acknowledged within the hour?, INSERT message,
    # INSERT contact: the new thread's item is not looked up, no motive, routing rule or basket read.
    assert len(_statements(ctx)) == 7, _statements(ctx)
    reply = mail(msgid="<two@example.org>", In_Reply_To="<one@example.org>").as_bytes()
    with CaptureQueriesContext(connection) as ctx:
        second = receive_email(caisse_code="751", data=reply)
    # Message-ID seen?, sender, the thread by its references, the thread locked with its person, UPDATE thread,
    # UPDATE work item (re-opened in place, not read), acknowledged?, INSERT message, INSERT contact.
    assert len(_statements(ctx)) == 9, _statements(ctx)
    assert not any('FROM "referential_person"' in s and "FOR UPDATE" not in s for s in _statements(ctx)[2:])
    assert second.message.thread_id == first.message.thread_id and first.message.thread.person_id == person.pk
