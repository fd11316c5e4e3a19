import json

from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.core.actors import Actor
from omniguichet.outreach.models import OutboundMessage
from omniguichet.outreach.services import drain, send_to_person
from tests.conftest import make_user
from tests.crm.conftest import client_for

URL = "/api/v1/outreach/receipts"


def provider_user():
    user = make_user("sms-provider", role="")
    user.user_permissions.add(Permission.objects.get(codename="receive_receipts"))
    return user


def post(client, rows):
    return client.post(URL, json.dumps(rows), content_type="application/json")


def test_receipts_need_a_provider_token(agent_paris):
    assert post(Client(), []).status_code == 401
    assert post(client_for(agent_paris), []).status_code == 403


def test_receipts_move_sent_messages_once(with_account, mobile_only, no_quiet_hours):
    from tests.outreach.test_dispatch import DAYTIME

    [sms] = send_to_person(actor=Actor.system(), person=mobile_only, idempotency_key="r1", subject="S", body="B",
                           at=DAYTIME)  # fmt: skip
    [queued] = send_to_person(actor=Actor.system(), person=mobile_only, idempotency_key="r2", subject="S", body="B",
                              at=timezone.now() + timezone.timedelta(days=3))  # fmt: skip
    drain()
    sms.refresh_from_db()
    assert sms.state == "sent"
    client = client_for(provider_user())
    rows = [
        {"provider_ref": sms.provider_ref, "status": "delivered", "at": "2026-06-10T12:00:05+02:00"},
        {"idempotency_key": queued.idempotency_key, "status": "delivered"},
        {"provider_ref": "nope", "status": "delivered"},
        {"provider_ref": sms.provider_ref, "status": "lost"},
        {"status": ["x"]},
    ]
    body = post(client, rows).json()
    assert [r["status"] for r in body["results"]] == [
        "updated",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert body["results"][2]["errors"] == {"provider_ref": "unknown message"}
    sms.refresh_from_db()
    assert sms.state == "delivered" and sms.delivered_at.isoformat() == "2026-06-10T10:00:05+00:00"
    again = post(client, rows[:1]).json()
    assert again["unchanged"] == 1 and again["updated"] == 0
    bounced = post(client, [{"provider_ref": sms.provider_ref, "status": "bounced"}]).json()
    assert bounced["rejected"] == 1  # a delivered message does not bounce afterwards
    assert OutboundMessage.objects.get(pk=queued.pk).state == "queued"


def test_my_inbox(with_account, agent_paris):
    send_to_person(actor=Actor.system(), person=with_account, idempotency_key="in-1", subject="Bienvenue",
                   body="Votre compte", channel_policy="inbox")  # fmt: skip
    drain()
    login = Account.objects.get(person=with_account).user
    assert Client().get("/api/v1/me/inbox").status_code == 401
    assert client_for(agent_paris).get("/api/v1/me/inbox").status_code == 403
    [message] = client_for(login).get("/api/v1/me/inbox").json()
    assert (message["subject"], message["body"], message["read"]) == ("Bienvenue", "Votre compte", False)
