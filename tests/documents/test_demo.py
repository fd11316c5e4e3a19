"""The demo's documents: deposits made through the real deposit service land in the baskets of the caisses."""

from django.db.models import Count

from omniguichet.baskets.models import Transfer
from omniguichet.core.actors import Actor
from omniguichet.crm.models import Contact
from omniguichet.demo.documents import seed_documents
from omniguichet.demo.services import seed_population
from omniguichet.demo.teleservices import seed_online_services
from omniguichet.documents import services
from omniguichet.documents.models import Deposit, Document, DocumentRequest
from omniguichet.referential.models import User


def test_seed_documents_fills_the_baskets(db, _document_settings):
    seed_population(persons=400, seed=5)  # 400 persons: 20 deposits
    seed_online_services(seed=5, per_person=1)  # the insured demo logins
    summary = seed_documents(seed=5, progress=False)  # one deposit per 20 persons
    assert summary.startswith("Documents: 20 deposits")
    assert Deposit.objects.count() == 20
    # Through the real service: one Contact per deposit, files encrypted, every document in its caisse's basket.
    assert Contact.objects.filter(motive_id="depot_piece").count() == 20
    documents = list(Document.objects.select_related("item__basket"))
    assert all(d.item.basket.caisse_id == d.caisse_id for d in documents)
    # The spread of receptions moved the items' clocks with their documents.
    assert all(d.item.received_at == d.received_at < d.item.deadline for d in documents)
    assert services.read_plain(documents[0])[:4] in (b"%PDF", b"\xff\xd8\xff\xe0")
    by_caisse = dict(Document.objects.values_list("caisse_id").annotate(n=Count("id")))
    assert by_caisse.get("751", 0) >= 5  # the demo agent agent-751 has work
    agent = User.objects.get(username="agent-751")
    assert sum(s.open_count for s in services.list_baskets(actor=Actor.agent(agent))) > 0
    assert Transfer.objects.exists() or Document.objects.filter(status="accepted").exists()
    # The insured demo logins each have an open request to deposit for (web account, kiosk).
    assert DocumentRequest.objects.filter(person__account__user__isnull=False).exists()
    # A second run changes nothing.
    assert seed_documents(seed=5, deposits=40, progress=False).endswith("already have documents.")
    assert Deposit.objects.count() == 20
