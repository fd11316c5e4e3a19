"""Every service end to end through the API (valid and invalid input) and its effects."""

import base64
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from omniguichet.referential.models import ContactPoint, Person
from omniguichet.referential.validators import compose_nir, mask_nir
from omniguichet.teleservices import services
from omniguichet.teleservices.models import Attestation, BankDetails, CardOrder, TeleserviceRequest
from tests.accounts.conftest import sent_codes
from tests.teleservices.conftest import PDF_B64, PDF_BYTES, use

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_attestation_droits_pdf_and_verification(app, person, make_person):
    child = make_person(
        given_names="Léo", family_name="Lefèvre", birth_date=dt.date(2018, 5, 2), parent_id=person.pk
    )
    response = use(app, "attestation_droits")
    assert response.status_code == 201
    body = response.json()
    code = body["result"]["verification_code"]
    assert len(code) == 14 and code[4] == code[9] == "-"
    document = app.get(body["document_url"])
    assert document["Content-Type"] == "application/pdf"
    text = pdf_text(document.content)
    assert "LEFÈVRE Marie" in text and mask_nir(person.nir).replace("•", "*") in text
    assert person.nir not in text and "01/01/2010" in text and child.display_name in text and code in text
    page = Client().get(f"/verify/{code.lower().replace('-', '')}")
    assert page.status_code == 200 and "This attestation is genuine" in page.content.decode()
    assert "LEFÈVRE Marie" in page.content.decode()
    assert Client().get("/verify/AAAA-BBBB-CCCC").status_code == 404


@pytest.mark.parametrize("text", ["7kq2 m9xd 4tra", "7KQ2M9XD4TRA", " 7KQ2-M9XD-4TRA "])
def test_verification_codes_are_typeable(text):
    assert services.normalise_verification_code(text) == "7KQ2-M9XD-4TRA"
    assert set(services.new_verification_code().replace("-", "")) <= set(services.CODE_ALPHABET)


def test_releve_remboursements_with_filters_pdf_and_csv(app, history):
    response = use(app, "releve_remboursements", {"care": "pharma"})
    assert response.status_code == 201
    result = response.json()["result"]
    assert result["count"] == 1 and result["lines"][0]["care"] == "Pharmacie" and result["total"] == "12.30"
    rid = response.json()["request_id"]
    csv = app.get(f"/api/v1/teleservices/requests/{rid}/document?format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("date_soins;") and len(lines) == 2 and "12,30" in lines[1]
    assert "Pharmacie" in pdf_text(
        app.get(f"/api/v1/teleservices/requests/{rid}/document?format=pdf").content
    )
    all_rows = use(app, "releve_remboursements").json()["result"]
    assert all_rows["count"] == 3
    bad = use(app, "releve_remboursements", {"date_from": "2026-13-01", "date_to": "bientôt"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"date_from", "date_to"}
    reversed_ = use(app, "releve_remboursements", {"date_from": "01/02/2026", "date_to": "01/01/2026"})
    assert reversed_.json()["error"]["fields"] == {"date_to": "must not be before date_from"}


def test_attestation_ij(app, history, person):
    response = use(app, "attestation_ij")
    assert response.status_code == 201 and response.json()["result"]["total"] == "412.00"
    text = pdf_text(app.get(response.json()["document_url"]).content)
    assert "412.00" in text and "LEFÈVRE Marie" in text
    assert Attestation.objects.get(request_id=response.json()["request_id"]).kind == "ij"
    assert use(app, "attestation_ij", {"date_from": "01/01/2000", "date_to": "31/12/2000"}).status_code == 422


def test_carte_europeenne(app, person):
    response = use(app, "carte_europeenne", {"departure_date": dt.date.today().isoformat()})
    assert response.status_code == 201 and response.json()["status"] == "pending"
    assert "provisional replacement certificate" in response.json()["message"]
    order = CardOrder.objects.get()
    assert order.kind == "ehic"
    # The card is made by the back office: the order opens a case the person follows, due when the card is.
    from omniguichet.cases.models import Case

    case = Case.objects.get(person=person)
    assert (case.case_type, case.reference) == ("european_card", f"TS-CEAM-{order.request_id}")
    assert case.expected_decision_on == order.expected_by
    again = use(app, "carte_europeenne")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_ordered"
    assert use(app, "carte_europeenne", {"departure_date": "2001-01-01"}).status_code == 422


def test_carte_europeenne_needs_open_rights(app, person):
    Person.objects.filter(pk=person.pk).update(rights_to=dt.date(2020, 1, 1))
    response = use(app, "carte_europeenne")
    assert (
        response.status_code == 403
        and "your rights closed on 01/01/2020" in response.json()["error"]["message"]
    )


def test_perte_vol_vitale(app, person):
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    bad = use(app, "perte_vol_vitale", {"reason": "eaten", "declared_on": tomorrow})
    assert bad.status_code == 422 and "reason" in bad.json()["error"]["fields"]
    assert use(app, "perte_vol_vitale", {"reason": "stolen", "declared_on": tomorrow}).status_code == 422
    response = use(app, "perte_vol_vitale", {"reason": "stolen", "declared_on": dt.date.today().isoformat()})
    assert response.status_code == 201 and "new carte Vitale is ordered" in response.json()["message"]
    order = CardOrder.objects.get()
    assert order.reason == "stolen"
    from omniguichet.cases.models import Case

    assert list(Case.objects.filter(person=person).values_list("case_type", "reference")) == [
        ("vitale_card", f"TS-VITALE-{order.request_id}")
    ]


def test_changement_adresse(app, person):
    response = use(
        app, "changement_adresse", {"address_line": " 8  avenue Foch ", "postcode": "75016", "city": "Paris"}
    )
    assert response.status_code == 201
    person.refresh_from_db()
    assert (person.address_line, person.postcode) == ("8 avenue Foch", "75016")
    bad = use(app, "changement_adresse", {"address_line": "x" * 201, "postcode": "ABCDE", "city": "x" * 201})
    assert set(bad.json()["error"]["fields"]) == {"address_line", "postcode", "city"}
    # A control character is refused before the service, the field named by its place in the body.
    bad = use(
        app, "changement_adresse", {"address_line": "8 avenue Foch", "postcode": "75016", "city": "\x00"}
    )
    assert set(bad.json()["error"]["fields"]) == {"data.city"}
    person.refresh_from_db()
    assert person.postcode == "75016"


def test_changement_rib(app, person):
    good = {"iban": "FR76 3000 6000 0112 3456 7890 189", "holder": "Marie Lefèvre", "rib_document": PDF_B64}
    bad = use(
        app, "changement_rib", {**good, "iban": "FR76 3000 6000 0112 3456 7890 188", "rib_document": "%%%"}
    )
    assert bad.status_code == 422
    fields = bad.json()["error"]["fields"]
    assert "check digits" in fields["iban"] and "rib_document" in fields
    missing = use(app, "changement_rib", {"iban": good["iban"], "holder": "M"})
    assert missing.json()["error"]["fields"] == {"rib_document": "is required"}
    not_pdf = use(app, "changement_rib", {**good, "rib_document": "aGVsbG8="})
    assert not_pdf.json()["error"]["fields"] == {"rib_document": "must be a PDF, JPEG or PNG file"}
    response = use(app, "changement_rib", good)
    assert response.status_code == 201 and "ending in 0189" in response.json()["message"]
    assert BankDetails.objects.get(person=person).iban == "FR7630006000011234567890189"
    # The document went through the documents app: checked, encrypted at rest, routed to the reimbursements
    # basket of the person's caisse, for the purpose (teleservice, request id).
    from omniguichet.crm.models import Contact
    from omniguichet.documents.models import Document
    from omniguichet.documents.services import document_storage, read_plain

    request_id = response.json()["request_id"]
    document = Document.objects.select_related("item__basket").get()
    assert response.json()["result"]["document_ids"] == [document.pk]
    assert (document.purpose_kind, document.purpose_ref, document.document_type) == (
        "teleservice", str(request_id), "bank_details"
    )  # fmt: skip
    assert (document.item.basket.caisse_id, document.item.basket.kind) == (person.caisse_id, "remboursements")
    assert document.content_type == "application/pdf" and read_plain(document) == PDF_BYTES
    with document_storage().open(document.file) as stored:
        assert PDF_BYTES not in stored.read()  # encrypted at rest
    # One interaction, one contact in the record: the request (its document is part of it).
    motives = list(Contact.objects.filter(person=person).values_list("motive_id", flat=True))
    assert motives == ["changement_rib"]


def test_changement_rib_document_refused_by_the_documents_checks_writes_nothing(app, person):
    from omniguichet.documents.models import Document
    from tests.documents.conftest import make_pdf

    scripted = base64.b64encode(make_pdf(javascript=True)).decode()
    response = use(app, "changement_rib", {"iban": "FR76 3000 6000 0112 3456 7890 189", "holder": "M",
                                           "rib_document": scripted})  # fmt: skip
    assert response.status_code == 422
    assert "script" in response.json()["error"]["fields"]["rib_document"].lower()
    assert not Document.objects.exists() and not BankDetails.objects.exists()
    assert not TeleserviceRequest.objects.exists()


def test_changement_contact_by_code_and_uniqueness(app, person, make_person):
    other = make_person(family_name="Autre")
    ContactPoint.objects.create(
        person=other, kind="email", value="pris@example.org", verified=True, verified_at=timezone.now()
    )
    taken = use(app, "changement_contact", {"kind": "email", "value": "PRIS@example.org"})
    assert taken.status_code == 409
    assert use(app, "changement_contact", {"kind": "email", "value": "pas-un-email"}).status_code == 422
    step1 = use(app, "changement_contact", {"kind": "email", "value": "marie@example.org"})
    assert step1.status_code == 201 and step1.json()["status"] == "awaiting_code"
    challenge = step1.json()["result"]["challenge"]
    sent = sent_codes()[-1]
    assert (sent["to"], sent["channel"]) == ("marie@example.org", "email")
    wrong = use(app, "changement_contact", {"kind": "email", "challenge": challenge, "code": "99999x"})
    assert wrong.status_code == 422
    step2 = use(app, "changement_contact", {"kind": "email", "challenge": challenge, "code": sent["code"]})
    assert step2.status_code == 201 and step2.json()["status"] == "done"
    point = ContactPoint.objects.get(person=person, kind="email")
    assert point.value == "marie@example.org" and point.verified


def test_rattachement_enfant(app, person):
    birth = dt.date.today() - dt.timedelta(days=400)
    nir = compose_nir(sex="M", birth_date=birth, birth_place="75056", order=321)
    data = {
        "nir": nir,
        "given_names": "Paul",
        "family_name": "Lefèvre",
        "birth_date": birth.isoformat(),
        "sex": "M",
        "birth_place": "75056",
    }
    bad = use(app, "rattachement_enfant", {**data, "nir": "1234", "sex": "X"})
    assert set(bad.json()["error"]["fields"]) == {"nir", "sex"}
    mismatch = use(app, "rattachement_enfant", {**data, "sex": "F"})
    assert mismatch.status_code == 422 and "sex" in mismatch.json()["error"]["fields"]
    response = use(app, "rattachement_enfant", data)
    assert response.status_code == 201
    child = Person.objects.get(nir=nir)
    assert child.parent == person and child.caisse_id == person.caisse_id and child.rights_from
    assert use(app, "rattachement_enfant", data).status_code == 409
    old = dt.date(2000, 1, 1)
    too_old = use(
        app,
        "rattachement_enfant",
        {
            **data,
            "birth_date": old.isoformat(),
            "nir": compose_nir(sex="M", birth_date=old, birth_place="75056", order=5),
        },
    )
    assert "16 or more" in too_old.json()["error"]["fields"]["birth_date"]


def test_services_without_a_crm_motive_bring_their_own(app, person):
    from omniguichet.crm.models import Contact

    use(app, "changement_contact", {"kind": "email", "value": "nouveau@example.org"})
    assert Contact.objects.get().motive.label == "Changement d'e-mail ou de téléphone"


def test_the_teleservice_deposit_purpose_of_the_documents_app(app, person, make_person, agent_ain):
    """A later deposit for the request (e.g. a readable copy): open 30 days, for its person only, only the types
    its service takes."""
    from omniguichet.core.actors import Actor
    from omniguichet.core.errors import Conflict, InvalidInput, NotFound
    from omniguichet.documents.services import deposit_documents, describe_purpose

    good = {"iban": "FR76 3000 6000 0112 3456 7890 189", "holder": "Marie Lefèvre", "rib_document": PDF_B64}
    request_id = use(app, "changement_rib", good).json()["request_id"]
    me = Actor(kind="insured", person_id=person.pk)
    purpose = describe_purpose(actor=me, kind="teleservice", ref=str(request_id))
    assert purpose.expected_types == ("bank_details",) and purpose.is_open
    assert purpose.label == "Change of bank details"
    later = deposit_documents(actor=me, channel="web", purpose_kind="teleservice", purpose_ref=str(request_id),
                              document_type="bank_details", files=[("copie.pdf", PDF_BYTES)])  # fmt: skip
    assert later.documents[0].item.basket.kind == "remboursements"
    with pytest.raises(InvalidInput):  # not a type this request takes
        deposit_documents(actor=me, channel="web", purpose_kind="teleservice", purpose_ref=str(request_id),
                          document_type="identity_document", files=[("id.pdf", PDF_BYTES)])  # fmt: skip
    someone = make_person(family_name="Autre")
    with pytest.raises(NotFound):  # another person's request is a 404, like a missing one
        describe_purpose(
            actor=Actor(kind="insured", person_id=someone.pk), kind="teleservice", ref=str(request_id)
        )
    for ref in ("999999", "abc", "9" * 30):
        with pytest.raises(NotFound):
            describe_purpose(actor=me, kind="teleservice", ref=ref)
    TeleserviceRequest.objects.filter(pk=request_id).update(created_at=timezone.now() - dt.timedelta(days=31))
    with pytest.raises(Conflict):  # closed after 30 days
        deposit_documents(actor=me, channel="web", purpose_kind="teleservice", purpose_ref=str(request_id),
                          document_type="bank_details", files=[("copie.pdf", PDF_BYTES)])  # fmt: skip
    address = use(
        app, "changement_adresse", {"address_line": "1 rue A", "postcode": "75001", "city": "Paris"}
    )
    assert not describe_purpose(actor=me, kind="teleservice", ref=str(address.json()["request_id"])).is_open


def test_a_request_rolled_back_after_its_deposit_leaves_no_file(app, person, monkeypatch, _document_settings):
    from omniguichet.documents.models import Document
    from tests.documents.conftest import stored_files

    def broken(**kwargs):
        raise RuntimeError("the record could not be written")

    monkeypatch.setattr(services.requests, "record_contact", broken)  # where a request looks it up
    good = {"iban": "FR76 3000 6000 0112 3456 7890 189", "holder": "Marie Lefèvre", "rib_document": PDF_B64}
    with pytest.raises(RuntimeError):
        use(app, "changement_rib", good)
    assert not Document.objects.exists() and not TeleserviceRequest.objects.exists()
    assert stored_files(_document_settings) == []


def test_changement_contact_of_the_mobile_by_sms_code_and_uniqueness(app, person, make_person):
    other = make_person(family_name="Autre")
    ContactPoint.objects.create(
        person=other, kind="mobile", value="+33611111111", verified=True, verified_at=timezone.now()
    )
    taken = use(app, "changement_contact", {"kind": "mobile", "value": "06 11 11 11 11"})
    assert taken.status_code == 409
    not_mobile = use(app, "changement_contact", {"kind": "mobile", "value": "01 23 45 67 89"})
    assert not_mobile.status_code == 422 and "value" in not_mobile.json()["error"]["fields"]
    step1 = use(app, "changement_contact", {"kind": "mobile", "value": "06 12 34 56 78"})
    assert step1.status_code == 201 and step1.json()["status"] == "awaiting_code"
    sent = sent_codes()[-1]
    assert (sent["to"], sent["channel"]) == ("+33612345678", "sms")
    challenge = step1.json()["result"]["challenge"]
    step2 = use(app, "changement_contact", {"kind": "mobile", "challenge": challenge, "code": sent["code"]})
    assert step2.status_code == 201 and step2.json()["status"] == "done"
    point = ContactPoint.objects.get(person=person, kind="mobile", verified=True)
    assert point.value == "+33612345678"
