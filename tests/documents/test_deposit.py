"""Deposit: tied to a purpose, all-or-nothing, encrypted, routed to the right basket of the person's caisse,
one Contact per deposit, pluggable purposes (teleservices, cases and appointments plug in the same way)."""

import datetime as dt

import pytest

from omniguichet.baskets.models import Basket, RoutingRule, WorkItem
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import Conflict, InvalidInput, NotFound
from omniguichet.crm.models import Contact
from omniguichet.documents import services
from omniguichet.documents.models import (
    Deposit,
    Document,
    DocumentRequest,
    ProcessingKind,
    PurposeKind,
)
from omniguichet.documents.services import DepositPurpose, FileRefused
from tests.documents.conftest import make_jpeg, make_pdf, make_zip_bomb, stored_files


def deposit(actor, request, files, **kw):
    kw.setdefault("channel", "web")
    kw.setdefault("document_type", "bank_details")
    return services.deposit_documents(
        actor=actor, purpose_kind="request", purpose_ref=str(request.pk), files=files, **kw
    )


def test_a_deposit_stores_encrypted_files_in_the_right_basket(
    insured_actor, insured, rib_request, _document_settings
):
    person, _user = insured
    pdf, jpeg = make_pdf(2), make_jpeg()
    result = deposit(insured_actor, rib_request, [("rib.pdf", pdf), ("photo.jpg", jpeg)])
    assert len(result.documents) == 2
    first, second = Document.objects.select_related("item__basket").order_by("id")
    assert (first.caisse_id, first.item.basket.caisse_id, first.item.basket.kind) == (
        "751",
        "751",
        "remboursements",
    )
    assert second.item.basket_id == first.item.basket_id and second.item.pk != first.item.pk
    assert (first.pages, first.content_type, first.status, first.person) == (
        2,
        "application/pdf",
        "received",
        person,
    )
    assert second.content_type == "image/jpeg" and second.original_name == "photo.jpg"
    assert first.item.deadline > first.item.received_at == first.received_at
    assert services.read_plain(first) == pdf
    files = stored_files(_document_settings)
    assert len(files) == 2 and all(pdf not in f.read_bytes() for f in files)
    # One contact for the deposit, on the channel used, linked to the document.
    contact = Contact.objects.get(person=person)
    assert (contact.channel, contact.motive_id, contact.subject_kind, contact.subject_ref) == (
        "web", "depot_piece", "document", str(first.pk),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([("rib.pdf", make_pdf()), ("bomb.pdf", make_zip_bomb())], "the file is a ZIP file"),
        ([("empty.pdf", b"")], "the file is empty"),
        ([("js.pdf", make_pdf(javascript=True))], "the PDF contains JavaScript"),
        ([("locked.pdf", make_pdf(password="x"))], "protected by a password"),
        ([("fake.pdf", b"GIF89a...")], "the file is a GIF file"),
    ],
)
def test_a_refused_file_leaves_nothing(insured_actor, rib_request, files, reason, _document_settings):
    with pytest.raises(FileRefused, match=reason):
        deposit(insured_actor, rib_request, files)
    assert not Deposit.objects.exists() and not Document.objects.exists() and not Contact.objects.exists()
    assert stored_files(_document_settings) == []


def test_a_failure_after_storing_removes_the_stored_files(
    insured_actor, rib_request, monkeypatch, _document_settings
):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.deposit, "record_contact", broken)  # where the deposit looks it up
    with pytest.raises(RuntimeError):
        deposit(insured_actor, rib_request, [("a.pdf", make_pdf()), ("b.pdf", make_pdf())])
    assert not Document.objects.exists() and stored_files(_document_settings) == []


def test_deposit_for_another_persons_request_is_refused(insured_actor, make_person, _document_settings):
    other = make_person(family_name="Autre")
    request = DocumentRequest.objects.create(person=other, document_types=["bank_details"], label="RIB")
    with pytest.raises(NotFound, match="no such request for this person"):
        deposit(insured_actor, request, [("a.pdf", make_pdf())])
    assert not Document.objects.exists() and stored_files(_document_settings) == []


def test_deposit_for_a_closed_request_is_refused(insured_actor, rib_request, _document_settings):
    rib_request.status = "closed"
    rib_request.save()
    with pytest.raises(Conflict, match="this request is closed"):
        deposit(insured_actor, rib_request, [("a.pdf", make_pdf())])
    assert not Document.objects.exists()


def test_unexpected_document_type_and_unknown_purpose(insured_actor, rib_request):
    with pytest.raises(InvalidInput, match=r"this request expects: bank details \(RIB\)"):
        deposit(insured_actor, rib_request, [("a.pdf", make_pdf())], document_type="birth_certificate")
    with pytest.raises(InvalidInput) as bad:
        services.deposit_documents(
            actor=insured_actor, channel="fax", purpose_kind="anything", purpose_ref="", document_type="x",
            files=[],
        )  # fmt: skip
    assert set(bad.value.fields) == {"channel", "document_type", "purpose_ref", "purpose_kind"}
    with pytest.raises(NotFound):
        deposit(insured_actor, type("R", (), {"pk": "999999"})(), [("a.pdf", make_pdf())])


def test_kiosk_deposit_records_a_kiosk_contact(insured_actor, rib_request):
    deposit(insured_actor, rib_request, [("a.pdf", make_pdf())], channel="kiosk")
    assert Deposit.objects.get().channel == "kiosk"
    assert Contact.objects.get().channel == "kiosk"


def test_agent_deposits_on_behalf_within_their_caisse(agent_paris, agent_ain, insured, rib_request):
    person, _user = insured
    result = deposit(Actor.agent(agent_paris), rib_request, [("a.pdf", make_pdf())], channel="reception",
                     person_id=person.pk)  # fmt: skip
    assert result.deposit.agent == agent_paris and result.deposit.actor_kind == "agent"
    assert Contact.objects.get().agent == agent_paris
    with pytest.raises(NotFound, match="no such person"):
        deposit(Actor.agent(agent_ain), rib_request, [("a.pdf", make_pdf())], channel="reception",
                person_id=person.pk)  # fmt: skip
    with pytest.raises(InvalidInput, match="person_id"):
        deposit(Actor.agent(agent_paris), rib_request, [("a.pdf", make_pdf())], channel="reception")


def test_the_caisse_is_the_persons_caisse_of_affiliation(make_person, _document_settings):
    person = make_person(caisse_code="011")
    request = DocumentRequest.objects.create(person=person, document_types=["sick_leave_form"], label="Arrêt")
    actor = Actor(kind=ActorKind.INSURED, person_id=person.pk)
    result = deposit(actor, request, [("a.pdf", make_pdf())], document_type="sick_leave_form")
    basket = result.documents[0].item.basket
    assert (basket.caisse_id, basket.kind) == ("011", "ij")


# --- routing ------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_routing_for_every_rule():
    rules = list(RoutingRule.objects.filter(item_kind="document"))
    assert len(rules) >= 9
    for rule in rules:
        kinds = [rule.purpose_kind] if rule.purpose_kind else PurposeKind.values
        for purpose_kind in kinds:
            specific = RoutingRule.objects.filter(
                item_kind="document", document_type=rule.document_type, purpose_kind=purpose_kind
            ).first()
            expected = specific.processing_kind if specific else rule.processing_kind
            got = services.processing_kind_for(document_type=rule.document_type, purpose_kind=purpose_kind)
            assert got == expected, (rule, purpose_kind)


@pytest.mark.django_db
def test_routing_precedence_specific_rule_then_wildcard_then_hint_then_general():
    assert services.processing_kind_for(document_type="bank_details", purpose_kind="case_request") == "ij"
    assert (
        services.processing_kind_for(document_type="bank_details", purpose_kind="teleservice")
        == "remboursements"
    )
    RoutingRule.objects.filter(document_type="bank_details").delete()
    assert (
        services.processing_kind_for(document_type="bank_details", purpose_kind="request", hint="c2s")
        == "c2s"
    )
    assert services.processing_kind_for(document_type="bank_details", purpose_kind="request") == "general"
    # An edit in the admin takes effect at once.
    RoutingRule.objects.create(
        item_kind="document", document_type="bank_details", purpose_kind="", processing_kind="droits"
    )
    assert (
        services.processing_kind_for(document_type="bank_details", purpose_kind="request", hint="c2s")
        == "droits"
    )


@pytest.mark.django_db
def test_seed_baskets_creates_one_per_caisse_and_kind_once():
    from omniguichet.referential.models import Caisse

    created = services.seed_baskets()
    assert created == Caisse.objects.count() * len(ProcessingKind.values) == Basket.objects.count()
    assert services.seed_baskets() == 0


@pytest.mark.django_db
def test_a_basket_is_unique_per_caisse_and_kind():
    from django.db import IntegrityError

    Basket.objects.create(caisse_id="751", kind="ij")
    with pytest.raises(IntegrityError):
        Basket.objects.create(caisse_id="751", kind="ij")


def test_a_documents_queue_state_is_its_items_only(insured_actor, rib_request):
    """No basket, claimant, deadline nor transfer count on the document: its item holds them; "claimed" is never
    stored as the document's status (the database refuses it) but shown from the item."""
    from django.db import IntegrityError, transaction

    doc = deposit(insured_actor, rib_request, [("a.pdf", make_pdf())]).documents[0]
    columns = {f.column for f in Document._meta.concrete_fields}
    assert not columns & {"basket_id", "claimed_by_id", "claimed_at", "deadline", "transfer_count"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.filter(pk=doc.pk).update(status="claimed")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkItem.objects.filter(kind="document", subject_id=doc.pk).update(basket=None)


# --- pluggable purposes -------------------------------------------------------------------------------------
def test_another_app_plugs_in_a_purpose_kind(insured, insured_actor, _document_settings):
    person, _user = insured
    received: list[tuple[list[int], str]] = []

    def resolve_teleservice(who, ref):
        if ref != "changement_rib-42":
            raise NotFound("no such online service request")
        return DepositPurpose(
            label="Changement de coordonnées bancaires", expected_types=("bank_details",), is_open=True,
            person_id=person.pk, processing_hint="remboursements",
            deadline=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            on_deposit=lambda documents, channel: received.append(([d.pk for d in documents], channel)),
        )  # fmt: skip

    previous = services._resolvers.get("teleservice")
    services.register_deposit_purpose("teleservice", resolve_teleservice)
    try:
        result = services.deposit_documents(
            actor=insured_actor, channel="app", purpose_kind="teleservice", purpose_ref="changement_rib-42",
            document_type="bank_details", files=[("rib.pdf", make_pdf())],
        )  # fmt: skip
        assert received == [([result.documents[0].pk], "app")]
        assert result.documents[0].item.deadline == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        with pytest.raises(NotFound):
            services.deposit_documents(
                actor=insured_actor, channel="app", purpose_kind="teleservice", purpose_ref="other",
                document_type="bank_details", files=[("rib.pdf", make_pdf())],
            )  # fmt: skip
    finally:
        if previous:
            services.register_deposit_purpose("teleservice", previous)
        else:
            services._resolvers.pop("teleservice", None)
    with pytest.raises(ValueError):
        services.register_deposit_purpose("anything", resolve_teleservice)


def test_a_documents_item_is_the_one_of_kind_document(insured_actor, rib_request, django_assert_num_queries):
    """Document.item joins on the subject id *and* the kind: a conversation's item with the same subject id is
    never taken for the document's, in a join, a filter, an attribute read or a prefetch."""
    doc = deposit(insured_actor, rib_request, [("a.pdf", make_pdf())]).documents[0]
    mine = WorkItem.objects.get(kind="document", subject_id=doc.pk)
    mine.delete()  # written again after the conversation's item: the document's is not the first one read
    WorkItem.objects.create(
        kind="message", subject_id=doc.pk, person_id=doc.person_id, caisse_id=doc.caisse_id,
        basket=Basket.objects.get_or_create(caisse_id=doc.caisse_id, kind="general")[0], summary="same id",
        received_at=doc.received_at, deadline=mine.deadline,
    )  # fmt: skip
    mine.pk = None
    mine.save()
    with django_assert_num_queries(1):
        assert Document.objects.select_related("item").get(pk=doc.pk).item.pk == mine.pk
    assert Document.objects.get(pk=doc.pk).item.pk == mine.pk
    assert list(Document.objects.filter(item__basket_id=mine.basket_id)) == [doc]
    assert not Document.objects.filter(item__summary="same id").exists()
    with django_assert_num_queries(2):
        [prefetched] = Document.objects.prefetch_related("item").filter(pk=doc.pk)
        assert prefetched.item.pk == mine.pk


def test_recent_documents_section_of_the_record(
    insured, insured_actor, rib_request, agent_paris, django_assert_num_queries
):
    person, _user = insured
    doc = deposit(insured_actor, rib_request, [("a.pdf", make_pdf())]).documents[0]
    with django_assert_num_queries(1):
        items = services.recent_documents_section(person)
    assert [(i.label, i.status) for i in items] == [("bank details (RIB)", "received")]
    assert items[0].url == f"/agent/baskets/documents/{items[0].ref}/"
    # Claimed: read from the item, in the same query; the person's own list too.
    services.claim_documents(actor=Actor.agent(agent_paris), document_ids=[doc.pk])
    with django_assert_num_queries(1):
        items = services.recent_documents_section(person)
    assert [i.status for i in items] == ["claimed"]
    with django_assert_num_queries(1):
        mine = services.my_documents(actor=insured_actor)
    assert [d.get_state_display() for d in mine] == ["claimed"] and mine[0].status == "received"


def test_the_open_flag_cannot_drift_from_the_status(insured_actor, rib_request):
    from django.db import IntegrityError, transaction

    doc = deposit(insured_actor, rib_request, [("a.pdf", make_pdf())]).documents[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.filter(pk=doc.pk).update(status="accepted")
    Document.objects.filter(pk=doc.pk).update(status="accepted", is_open=False)
