"""Two submissions of the same request at the same moment (a double click reaching two web workers): one
request, one contact, both answers name it. Needs real concurrent transactions: PostgreSQL."""

import threading

import pytest
from django.db import connection, connections

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.crm.models import Contact
from omniguichet.teleservices.models import TeleserviceRequest
from omniguichet.teleservices.services import use_service


@pytest.mark.django_db(transaction=True)
def test_simultaneous_twins_make_one_request(insured, person):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (the SQLite test database is one in-memory file)")
    actor = Actor(kind=ActorKind.INSURED, user=insured, person_id=person.pk)
    barrier = threading.Barrier(2)
    answers = []

    def submit():
        try:
            barrier.wait()
            used = use_service(actor=actor, channel="web", code="changement_adresse", idempotency_key="twin",
                               data={"address_line": "1 rue A", "postcode": "75001", "city": "Paris"})  # fmt: skip
            answers.append((used.request.pk, used.replayed))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 2 and answers[0][0] == answers[1][0]
    assert sorted(replayed for _pk, replayed in answers) == [False, True]
    assert TeleserviceRequest.objects.count() == 1 and Contact.objects.count() == 1
