from django.core.management import call_command
from django.test import Client

from omniguichet.core.actors import Actor
from omniguichet.outreach.models import MessageTemplate, OutboundMessage
from omniguichet.outreach.services import send_to_person
from tests.conftest import make_user
from tests.outreach.test_dispatch import DAYTIME, sink_lines


def test_messages_go_out_through_the_worker(mobile_only, _outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_to_person(actor=Actor.system(), person=mobile_only, idempotency_key="w1", subject="S", body="B",
                       at=DAYTIME)  # fmt: skip
    assert callbacks  # the dispatch task is enqueued after commit
    call_command("worker", "--batch", "--interval", "0.01")
    assert OutboundMessage.objects.get().state == "sent"
    assert [line["key"] for line in sink_lines(_outbox)] == ["send:w1:sms"]


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
