import json

from django.test import Client
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.cases.models import Case
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.services import open_record
from tests.cases.conftest import event, opened
from tests.conftest import make_user
from tests.crm.conftest import client_for

URL = "/api/v1/case-events"


def post(client, rows, content_type="application/json"):
    body = (
        "\n".join(json.dumps(r) for r in rows) if content_type == "application/x-ndjson" else json.dumps(rows)
    )
    return client.post(URL, body, content_type=content_type)


def test_anonymous_is_401():
    assert Client().post(URL, "[]", content_type="application/json").status_code == 401


def test_wrong_role_is_403(agent_paris, paris_person):
    response = post(client_for(agent_paris), [opened("X-1", paris_person)])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not Case.objects.exists()


def test_other_caisse_reads_like_a_missing_case(backoffice_paris, supervisor, ain_person):
    post(client_for(supervisor), [opened("AIN-9", ain_person)])
    response = post(client_for(backoffice_paris), [event("AIN-9", 2, "closed")])
    assert response.status_code == 200
    body = response.json()
    assert body["rejected"] == 1
    assert "unknown case" in body["results"][0]["errors"]["case_reference"]


def test_ingest_json_and_ndjson_with_per_row_results(backoffice_paris, paris_person):
    client = client_for(backoffice_paris)
    rows = [
        opened("IJ-A", paris_person),
        event("IJ-A", 3, "closed"),
        event("IJ-A", 2, "payment", {"amount": "x"}),
    ]
    response = post(client, rows, "application/x-ndjson")
    assert response.status_code == 200
    body = response.json()
    assert (body["applied"], body["held"], body["rejected"]) == (1, 1, 1)
    assert body["results"][1]["status"] == "held"
    assert "event 2" in body["results"][1]["message"]
    assert "payload.amount" in body["results"][2]["errors"]
    fix = post(client, [event("IJ-A", 2, "payment", {"amount": "12.00"})]).json()
    assert (fix["applied"], fix["released"]) == (1, 1)
    assert Case.objects.get(reference="IJ-A").status == "closed"
    replay = post(client, rows).json()
    assert replay["duplicates"] == 2 and replay["rejected"] == 1


def test_malformed_body_is_422(backoffice_paris):
    client = client_for(backoffice_paris)
    response = client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 422
    assert "body" in response.json()["error"]["fields"]
    assert client.post(URL, '{"a": 1}', content_type="application/json").status_code == 422


def test_my_cases_for_the_insured_person(paris_person, ain_person, supervisor, agent_paris):
    login = make_user("marie", role="")
    Account.objects.create(person=paris_person, opened_at=timezone.now(), user=login)
    post(client_for(supervisor), [
        opened("IJ-M", paris_person), event("IJ-M", 2, "payment", {"amount": "20"}), opened("AIN-M", ain_person),
    ])  # fmt: skip
    assert Client().get("/api/v1/me/cases").status_code == 401
    assert client_for(agent_paris).get("/api/v1/me/cases").status_code == 403
    response = client_for(login).get("/api/v1/me/cases")
    assert response.status_code == 200
    [case] = response.json()
    assert case["reference"] == "IJ-M" and case["status"] == "open"
    assert [e["type"] for e in case["timeline"]] == ["opened", "payment"]
    assert case["timeline"][1]["text"] == "We paid you 20,00\u00a0€."


def test_open_cases_section_of_the_record(paris_person, agent_paris, django_assert_num_queries):
    from omniguichet.cases.services import ingest_case_events, open_cases_section

    ingest_case_events(actor=Actor.system(), rows=[
        opened("IJ-R", paris_person, expected_decision_on="2026-12-24"),
        opened("VIT-R", paris_person, case_type="vitale_card"), event("VIT-R", 2, "closed"),
    ], source="t")  # fmt: skip
    with django_assert_num_queries(1):
        items = open_cases_section(paris_person)
    assert [(i.ref, i.label, i.status) for i in items] == [("IJ-R", "sick pay", "open")]
    record = open_record(actor=Actor.agent(agent_paris), channel=Channel.PHONE, person_id=paris_person.pk,
                         purpose="appel")  # fmt: skip
    assert [i.ref for i in record.open_cases] == ["IJ-R"]


def test_the_account_partial_renders_the_timeline(paris_person):
    from django.template.loader import render_to_string

    from omniguichet.cases.services import ingest_case_events, my_cases
    from omniguichet.core.actors import ActorKind

    ingest_case_events(actor=Actor.system(), rows=[
        opened("IJ-T", paris_person),
        event("IJ-T", 2, "document_missing", {"document": "rib", "label": "RIB"}),
    ], source="t")  # fmt: skip
    html = render_to_string("cases/_my_cases.html", {
        "cases": my_cases(actor=Actor(kind=ActorKind.INSURED, person_id=paris_person.pk))
    })  # fmt: skip
    assert "Waiting for documents" in html and "We are waiting for: RIB" in html
    assert "Your request was registered." in html
    assert "You have no case" in render_to_string("cases/_my_cases.html", {"cases": []})
