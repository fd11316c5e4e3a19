"""Query counts of the screens and endpoints, locked: they do not grow with the person's history."""

import pytest
from django.forms.models import model_to_dict
from django.test import Client

from omniguichet.teleservices.models import Reimbursement
from tests.teleservices.conftest import use

pytestmark = pytest.mark.django_db


def test_catalogue_query_count(app, history, django_assert_num_queries):
    app.get("/api/v1/teleservices")  # the token's last use is written once a minute: not counted below
    with django_assert_num_queries(3):  # token + user + account, person, sick pay exists
        assert app.get("/api/v1/teleservices").status_code == 200


def test_statement_query_count_does_not_grow_with_history(app, history, person, django_assert_num_queries):
    app.get("/api/v1/teleservices")
    # the account comes with the token; the first contact recorded in the process reads the motives (then cached)
    with django_assert_num_queries(10):
        assert use(app, "releve_remboursements", idempotency_key="q-1").status_code == 201
    first = Reimbursement.objects.filter(person=person).first()
    Reimbursement.objects.bulk_create(
        [
            Reimbursement(**{**model_to_dict(first, exclude=["id", "person"]), "person": person})
            for _ in range(50)
        ]
    )
    with django_assert_num_queries(9):  # the motives from the process's cache (crm.services.active_motives)
        response = use(app, "releve_remboursements", idempotency_key="q-2")
    assert response.json()["result"]["count"] == 53


def test_web_home_query_count(web, django_assert_num_queries):
    with django_assert_num_queries(10):
        # (+2: the latest messages of the inbox and the unread count)
        assert web.get("/compte/").status_code == 200


def test_verify_page_is_one_query(person, django_assert_num_queries):
    # The attestation, the two of the DSFR site configuration, and the throttle's counter of the address (its
    # row locked and created: 2 queries, and 4 savepoints that are BEGIN/COMMIT outside a test's transaction).
    with django_assert_num_queries(9):
        assert Client().get("/verify/AAAA-BBBB-CCCC").status_code == 404
