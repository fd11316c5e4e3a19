"""Routing reads its rules and baskets from the process's memory once a transaction that read them has committed;
a change in this process is seen at once, one in another process within routing.CACHE_SECONDS."""

import pytest
from django.db import transaction

from omniguichet.baskets.models import Basket, RoutingRule
from omniguichet.baskets.services import routing

pytestmark = pytest.mark.django_db


def _route():
    return routing.route(caisse_code="751", item_kind="message", motive="carte_vitale", subject="Ma carte")


def test_a_committed_route_is_remembered_and_read_from_memory(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        first = _route()
    with django_assert_num_queries(0):
        again = _route()
    assert (again.basket.pk, again.processing_kind, again.routed_by) == (
        first.basket.pk,
        first.processing_kind,
        first.routed_by,
    )
    assert again.basket.caisse_id == "751" and again.basket.kind == first.processing_kind


def test_nothing_is_remembered_before_the_commit(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=False):
        _route()
    with django_assert_num_queries(2):  # the rules, the basket: read again
        _route()


def test_a_basket_created_in_a_rolled_back_transaction_is_not_remembered(django_capture_on_commit_callbacks):
    Basket.objects.filter(caisse_id="751", kind="triage").delete()

    class Undo(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Undo), transaction.atomic():
        routing.basket_for(caisse_code="751", processing_kind="triage")
        raise Undo
    assert not Basket.objects.filter(caisse_id="751", kind="triage").exists()
    assert ("751", "triage") not in routing._basket_ids
    with django_capture_on_commit_callbacks(execute=True):
        basket = routing.basket_for(caisse_code="751", processing_kind="triage")  # created again, for real
    assert Basket.objects.filter(pk=basket.pk, caisse_id="751", kind="triage").exists()
    assert routing._basket_ids[("751", "triage")][1] == basket.pk


def test_a_rule_saved_in_this_process_applies_at_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        before = _route()
    rule = RoutingRule.objects.create(
        item_kind="message", motive="carte_vitale", subject_words="carte", processing_kind="c2s", priority=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        after = _route()
    assert before.routed_by != f"rule:{rule.pk}"
    assert (after.processing_kind, after.routed_by) == ("c2s", f"rule:{rule.pk}")
    rule.delete()
    assert _route().routed_by == before.routed_by


def test_a_rule_changed_elsewhere_applies_after_the_cache_time(
    monkeypatch, django_capture_on_commit_callbacks
):
    clock = [1000.0]
    monkeypatch.setattr(routing.time, "monotonic", lambda: clock[0])
    rule = RoutingRule.objects.create(
        item_kind="document", motive="carte_vitale", subject_words="carte", processing_kind="c2s", priority=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        before = _route()
    assert before.routed_by != f"rule:{rule.pk}"
    # Another process's admin: this process gets no signal (an UPDATE sends none either).
    RoutingRule.objects.filter(pk=rule.pk).update(item_kind="message")
    clock[0] += routing.CACHE_SECONDS - 1
    assert _route().routed_by == before.routed_by  # still the remembered rules
    clock[0] += 2
    assert _route().routed_by == f"rule:{rule.pk}"
