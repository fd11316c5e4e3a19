"""Two deposits for the same requested document of a case at the same moment (the app and the kiosk): one is
kept, the other refused whole (no document, no file, no second platform event). Needs real concurrent
transactions: PostgreSQL."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from omniguichet.cases.models import PlatformEvent, RequestedDocument
from omniguichet.cases.services import ingest_case_events
from omniguichet.core.actors import Actor
from omniguichet.core.errors import Conflict
from omniguichet.documents import services
from omniguichet.documents.models import Deposit, Document
from tests.cases.conftest import event
from tests.documents.conftest import make_pdf, stored_files


@pytest.mark.django_db(transaction=True)
def test_simultaneous_deposits_for_one_case_document(insured, insured_actor, _document_settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (the SQLite test database is one in-memory file)")
    person, _user = insured
    past = timezone.now() - dt.timedelta(days=1)
    ingest_case_events(actor=Actor.system("backoffice"), source="test", rows=[
        event("IJ-C1", 1, "opened", {"person_id": person.pk, "case_type": "sick_pay"}, occurred_at=past),
        event("IJ-C1", 2, "document_missing", {"document": "rib", "label": "RIB"}, occurred_at=past),
    ])  # fmt: skip
    awaited = RequestedDocument.objects.get(case__reference="IJ-C1")
    barrier = threading.Barrier(2)
    answers: list[str] = []

    def deposit(channel: str) -> None:
        try:
            # Both resolve the purpose as open before either commits; the row lock decides.
            purpose = services.resolve_purpose(person=person, kind="case_request", ref=str(awaited.pk))
            assert purpose.is_open
            barrier.wait()
            services.deposit_documents(
                actor=insured_actor, channel=channel, purpose_kind="case_request", purpose_ref=str(awaited.pk),
                document_type="bank_details", files=[("rib.pdf", make_pdf())],
            )  # fmt: skip
            answers.append("kept")
        except Conflict as exc:
            answers.append(exc.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deposit, args=(c,)) for c in ("app", "kiosk")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count("kept") == 1, answers
    [refusal] = [a for a in answers if a != "kept"]
    assert "already received" in refusal
    assert Deposit.objects.count() == 1 and Document.objects.count() == 1
    assert PlatformEvent.objects.count() == 1 and len(stored_files(_document_settings)) == 1
