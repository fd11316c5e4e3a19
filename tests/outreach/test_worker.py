from django.test import Client
from django_tasks_db.models import DBTaskResult

from omniguichet.core.actors import Actor
from omniguichet.outreach.models import MessageTemplate, OutboundMessage
from omniguichet.outreach.services import send_to_person
from omniguichet.outreach.tasks import dispatch_messages, start_sweeping, sweep
from tests.conftest import make_user
from tests.outreach.test_dispatch import DAYTIME, sink_lines


def test_messages_go_out_through_the_tasks(
    mobile_only, _outbox, django_capture_on_commit_callbacks, no_quiet_hours
):
    # The real worker process runs them in tests/outreach/test_crash.py; here the tasks themselves.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_to_person(actor=Actor.system(), person=mobile_only, idempotency_key="w1", subject="S", body="B",
                       at=DAYTIME)  # fmt: skip
    assert callbacks  # the dispatch task is enqueued after commit
    queued = DBTaskResult.objects.filter(status="READY")
    assert [t.task_path for t in queued] == [dispatch_messages.module_path]
    assert queued[0].task.call() == 1
    assert OutboundMessage.objects.get().state == "sent"
    assert [line["key"] for line in sink_lines(_outbox)] == ["send:w1:sms"]


def test_worker_start_keeps_one_sweep_chain(db):
    start_sweeping()
    start_sweeping()
    paths = sorted(DBTaskResult.objects.filter(status="READY").values_list("task_path", flat=True))
    assert paths == sorted([dispatch_messages.module_path] * 2 + [sweep.module_path])
    assert sweep.call() == 0  # nothing to do, and it comes back later
    assert DBTaskResult.objects.filter(task_path=sweep.module_path, status="READY").count() == 2


def test_the_admin_refuses_a_template_with_an_unknown_variable(db):
    admin = make_user("root", role="")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    response = client.post("/admin/outreach/messagetemplate/add/", {
        "code": "oops", "event_type": "payment", "subject": "Paiement {amount}", "body": "Bonjour {prenom}",
        "sms_body": "x",
    })  # fmt: skip
    assert response.status_code == 200
    assert "unknown variables {prenom}" in response.content.decode()
    assert not MessageTemplate.objects.filter(code="oops").exists()
    assert client.get("/admin/outreach/messagerule/").status_code == 200
    assert client.get("/admin/cases/case/").status_code == 200
