import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.crm.models import Contact, RecordAccess
from omniguichet.crm.services import record_contact, record_section_count
from tests.conftest import make_user
from tests.crm.conftest import client_for

PURPOSE = {"purpose": "appel entrant"}


def add_contacts(person, count, start=None):
    start = start or timezone.now() - dt.timedelta(days=count)
    for i in range(count):
        record_contact(
            actor=Actor.system(),
            channel=["web", "phone", "sms"][i % 3],
            person=person,
            motive=["attestation_droits", "remboursement"][i % 2],
            started_at=start + dt.timedelta(hours=i),
        )


def test_record_requires_a_token_and_a_staff_role(paris_person):
    url = f"/api/v1/persons/{paris_person.pk}/record"
    assert Client().get(url, PURPOSE).status_code == 401
    assert client_for(make_user("insured", role="")).get(url, PURPOSE).status_code == 403
    assert RecordAccess.objects.count() == 0


def test_other_caisse_record_is_not_found_like_a_missing_one(paris_person, agent_ain):
    client = client_for(agent_ain)
    other = client.get(f"/api/v1/persons/{paris_person.pk}/record", PURPOSE)
    missing = client.get("/api/v1/persons/987654321/record", PURPOSE)
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert RecordAccess.objects.count() == 0


def test_record_shows_everything_and_is_audited_once(paris_person, agent_paris, make_person):
    Account.objects.create(person=paris_person, opened_at=timezone.now() - dt.timedelta(days=400))
    child = make_person(birth_date=dt.date(2016, 5, 1), parent_id=paris_person.pk)
    add_contacts(paris_person, 3)
    response = client_for(agent_paris).get(f"/api/v1/persons/{paris_person.pk}/record", PURPOSE)
    assert response.status_code == 200
    record = response.json()
    assert record["person"]["family_name"] == "Lefèvre" and "•" in record["person"]["nir_masked"]
    assert paris_person.nir not in response.content.decode()
    assert [b["id"] for b in record["beneficiaries"]] == [child.pk]
    assert {p["value"] for p in record["contact_points"]} == {"+33698765432", "marie.lefevre@orange.example"}
    assert record["account"]["status"] == "active"
    contacts = record["timeline"]["contacts"]
    assert len(contacts) == 3 and contacts[0]["started_at"] > contacts[-1]["started_at"]
    web = next(c for c in contacts if c["channel"] == "web")
    assert web["online_action"] is False  # recorded by the system, not by the person
    access = RecordAccess.objects.get()
    assert (access.person, access.user, access.purpose) == (paris_person, agent_paris, "appel entrant")


def test_record_needs_a_purpose(paris_person, agent_paris):
    response = client_for(agent_paris).get(f"/api/v1/persons/{paris_person.pk}/record")
    assert response.status_code == 422 and "purpose" in response.json()["error"]["fields"]
    assert RecordAccess.objects.count() == 0


def test_record_takes_a_fixed_number_of_queries(paris_person, agent_paris, django_assert_num_queries):
    client = client_for(agent_paris)
    client.get("/api/v1/me")  # records last_used_at once
    url = f"/api/v1/persons/{paris_person.pk}/record"
    # token, person (+caisse, account, preference), timeline, audit insert, contact points, consents, children,
    # then one query per section other apps add (cases, appointments, documents)
    expected = 7 + record_section_count()
    with django_assert_num_queries(expected):
        assert client.get(url, PURPOSE).status_code == 200
    add_contacts(paris_person, 30)
    with django_assert_num_queries(expected):
        assert len(client.get(url, PURPOSE).json()["timeline"]["contacts"]) == 20


def test_timeline_pages_and_filters(paris_person, agent_paris):
    add_contacts(paris_person, 45)
    client = client_for(agent_paris)
    base = f"/api/v1/persons/{paris_person.pk}"
    # Paging before opening the record is refused: reading is always audited.
    assert client.get(f"{base}/timeline").status_code == 403
    first = client.get(f"{base}/record", PURPOSE).json()["timeline"]
    seen = [c["id"] for c in first["contacts"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"{base}/timeline", {"cursor": cursor}).json()
        seen += [c["id"] for c in page["contacts"]]
        cursor = page["next_cursor"]
    expected = list(
        Contact.objects.filter(person=paris_person)
        .order_by("-started_at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected
    phone = client.get(f"{base}/timeline", {"channel": "phone", "limit": 100}).json()["contacts"]
    assert len(phone) == 15 and {c["channel"] for c in phone} == {"phone"}
    motive = client.get(f"{base}/timeline", {"motive": "remboursement", "limit": 100}).json()["contacts"]
    assert {c["motive"] for c in motive} == {"remboursement"}
    assert client.get(f"{base}/timeline", {"cursor": "garbage!"}).status_code == 422
    assert client.get(f"{base}/timeline", {"channel": "fax"}).status_code == 422
    assert RecordAccess.objects.count() == 1


def test_agent_adds_a_contact_and_sees_it_first(paris_person, agent_paris, agent_ain):
    add_contacts(paris_person, 5)
    url = f"/api/v1/persons/{paris_person.pk}/contacts"
    payload = {
        "channel": "phone",
        "motive": "carte_vitale",
        "outcome": "resolved",
        "answered": True,
        "note": "carte commandée",
    }
    assert Client().post(url, payload, content_type="application/json").status_code == 401
    assert client_for(agent_ain).post(url, payload, content_type="application/json").status_code == 404
    client = client_for(agent_paris)
    created = client.post(url, payload, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["agent"] == "agent-paris"
    top = client.get(f"/api/v1/persons/{paris_person.pk}/record", PURPOSE).json()["timeline"]["contacts"][0]
    assert top["id"] == created.json()["id"] and top["motive_label"] == "Carte Vitale"
    bad = client.post(url, {**payload, "channel": "web"}, content_type="application/json")
    assert bad.status_code == 422 and "channel" in bad.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("{nir}", True),
        ("{nir_spaced}", True),
        ("{nir13} 03/12/1984", True),
        ("{nir_start} 1984-12-03", True),
        ("lefevre 03/12/1984", True),
        ("LEFÈVRE 3/12/1984", True),
        ("lef 03.12.1984", True),
        ("lefevre 04/12/1984", False),
        ("06 98 76 54 32", True),
        ("+33698765432", True),
        ("Marie.Lefevre@Orange.example", True),
        ("nobody@orange.example", False),
    ],
)
def test_search(paris_person, agent_paris, q, found):
    nir = paris_person.nir
    q = q.format(
        nir=nir,
        nir_spaced=f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}",
        nir13=nir[:13],
        nir_start=nir[:7],
    )
    response = client_for(agent_paris).get("/api/v1/persons/search", {"q": q})
    assert response.status_code == 200, response.content
    ids = [p["id"] for p in response.json()]
    assert (paris_person.pk in ids) is found
    assert RecordAccess.objects.count() == 0  # a search does not open a record


def test_search_refuses_vague_queries(agent_paris, db):
    client = client_for(agent_paris)
    for q in ("a", "dupont", "12/03/1984"):
        response = client.get("/api/v1/persons/search", {"q": q})
        assert response.status_code == 422 and "q" in response.json()["error"]["fields"]


def test_each_opening_is_one_audit_entry_the_person_can_read(paris_person, agent_paris, supervisor):
    from omniguichet.crm.services import my_record_accesses

    client_for(agent_paris).get(f"/api/v1/persons/{paris_person.pk}/record", {"purpose": "appel entrant"})
    national = client_for(supervisor)
    national.get(f"/api/v1/persons/{paris_person.pk}/record", {"purpose": "contrôle qualité"})
    national.get("/api/v1/persons/search", {"q": paris_person.nir})  # not an opening
    accesses = my_record_accesses(actor=Actor(kind=ActorKind.INSURED, person_id=paris_person.pk))
    assert [(a.user, a.purpose) for a in accesses] == [
        (supervisor, "contrôle qualité"),
        (agent_paris, "appel entrant"),
    ]


def test_a_person_reads_who_opened_their_record(paris_person, ain_person, agent_paris, supervisor):
    insured_login = make_user("marie", role="")
    Account.objects.create(person=paris_person, opened_at=timezone.now(), user=insured_login)
    agent_paris.first_name, agent_paris.last_name = "Jeanne", "Martin"
    agent_paris.save()
    client_for(agent_paris).get(f"/api/v1/persons/{paris_person.pk}/record", {"purpose": "appel entrant"})
    client_for(supervisor).get(f"/api/v1/persons/{ain_person.pk}/record", {"purpose": "contrôle"})
    assert Client().get("/api/v1/me/audit").status_code == 401
    assert (
        client_for(agent_paris).get("/api/v1/me/audit").status_code == 403
    )  # staff have no record of their own
    response = client_for(insured_login).get("/api/v1/me/audit")
    assert response.status_code == 200
    [entry] = response.json()
    assert (entry["who"], entry["caisse"], entry["purpose"]) == (
        "Jeanne Martin",
        "CPAM de Paris",
        "appel entrant",
    )
    # An insured person's token cannot use staff endpoints.
    assert (
        client_for(insured_login).get(f"/api/v1/persons/{paris_person.pk}/record", PURPOSE).status_code == 403
    )


def test_record_shows_sections_registered_by_other_apps(paris_person, agent_paris, monkeypatch):
    from omniguichet.crm import services

    monkeypatch.setattr(services.record, "_section_providers", {})  # where the record looks them up
    services.register_record_section(
        "open_cases",
        lambda person: [services.RecordItem(ref="IJ-1", label=f"Sick pay {person.pk}", status="open")],
    )
    body = client_for(agent_paris).get(f"/api/v1/persons/{paris_person.pk}/record", PURPOSE).json()
    assert body["open_cases"] == [
        {"ref": "IJ-1", "label": f"Sick pay {paris_person.pk}", "status": "open", "when": None, "url": ""}
    ]
    assert body["next_appointments"] == [] and body["recent_documents"] == []
    with pytest.raises(ValueError):
        services.register_record_section("nonsense", lambda person: [])


def test_an_id_beyond_64_bits_is_not_found(agent_paris):
    # Found by the OpenAPI contract test: the id goes to the database as it is, and no row can hold it.
    response = client_for(agent_paris).get(f"/api/v1/persons/{2**64}/record", PURPOSE)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
