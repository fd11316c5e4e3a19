"""Routing: the basket of the right caisse for an incoming item, by the routing rules (admin) and, for messages
without a motive, the classifier's suggestion (the caller passes it in as `motive` with its confidence)."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from omniguichet.baskets.models import Basket, ProcessingKind, RoutingRule
from omniguichet.referential.models import Caisse

# --- what routing reads, kept in the process ----------------------------------------------------------------------
# Every new message, e-mail and document is routed: the rules of its kind and the basket of (caisse, processing
# kind) are read from this process's memory rather than by two queries each time. Kept only once the transaction
# that read them has committed (a basket created in a transaction that rolls back is never remembered). A save or a
# deletion of a rule or a basket forgets them in the process that made it (signals connected in
# BasketsConfig.ready); other processes read them again after CACHE_SECONDS, so a rule changed in the admin applies
# everywhere within a minute (docs/baskets.md).
CACHE_SECONDS = 60.0
_rules: dict[str, tuple[float, list[RoutingRule]]] = {}
_basket_ids: dict[tuple[str, str], tuple[float, int]] = {}


def forget_routing(**_signal: Any) -> None:
    """Forget the rules and baskets this process remembers (a rule or a basket changed, or a test's rollback)."""
    _rules.clear()
    _basket_ids.clear()


def _fresh(entry: tuple[float, Any], now: float) -> bool:
    return now - entry[0] <= CACHE_SECONDS


def _rules_of(item_kind: str) -> list[RoutingRule]:
    now = time.monotonic()
    entry = _rules.get(item_kind)
    if entry is not None and _fresh(entry, now):
        return entry[1]
    rules = list(RoutingRule.objects.filter(item_kind=item_kind))
    transaction.on_commit(lambda: _rules.__setitem__(item_kind, (now, rules)))
    return rules


def _plain(text: str) -> str:
    """Lower case without accents, for matching the words of a subject."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Route:
    basket: Basket
    processing_kind: str
    # "rule:<id>", or "hint" (the subject's own suggestion), or "default" (the general basket).
    routed_by: str


def _matches(rule: RoutingRule, *, document_type: str, purpose_kind: str, motive: str, subject: str) -> bool:
    if rule.document_type and rule.document_type != document_type:
        return False
    if rule.purpose_kind and rule.purpose_kind != purpose_kind:
        return False
    if rule.motive and rule.motive != motive:
        return False
    if rule.subject_words:
        words = [_plain(w.strip()) for w in rule.subject_words.split(",") if w.strip()]
        if not any(w in _plain(subject) for w in words):
            return False
    return True


def _specificity(rule: RoutingRule) -> int:
    return sum(bool(v) for v in (rule.document_type, rule.purpose_kind, rule.motive, rule.subject_words))


def processing_kind_for(
    *, item_kind: str, document_type: str = "", purpose_kind: str = "", motive: str = "", subject: str = "",
    hint: str = "",
) -> tuple[str, str]:  # fmt: skip
    """(processing kind, routed_by). The matching rule naming the most criteria wins, then the lowest priority
    number; without a matching rule, the subject's own hint if it names a kind of processing, else "general"."""
    rules = [
        r
        for r in _rules_of(item_kind)
        if (not document_type or r.document_type in (document_type, ""))
        and (not motive or r.motive in (motive, ""))
    ]
    matching = [
        r
        for r in rules
        if _matches(r, document_type=document_type, purpose_kind=purpose_kind, motive=motive, subject=subject)
    ]
    if matching:
        best = min(matching, key=lambda r: (-_specificity(r), r.priority, r.pk))
        return best.processing_kind, f"rule:{best.pk}"
    if hint in ProcessingKind.values:
        return hint, "hint"
    return ProcessingKind.GENERAL, "default"


def basket_for(*, caisse_code: str, processing_kind: str) -> Basket:
    """The basket of that caisse and processing kind, created the first time. Remembered by id: the item's foreign
    key is all its writers need, so a remembered basket is not read (its fields other than the id, the caisse and
    the kind are not loaded)."""
    key = (caisse_code, processing_kind)
    now = time.monotonic()
    entry = _basket_ids.get(key)
    if entry is not None and _fresh(entry, now):
        return Basket(pk=entry[1], caisse_id=caisse_code, kind=processing_kind)
    basket, _created = Basket.objects.get_or_create(caisse_id=caisse_code, kind=processing_kind)
    transaction.on_commit(lambda: _basket_ids.__setitem__(key, (now, basket.pk)))
    return basket


def route(
    *, caisse_code: str, item_kind: str, document_type: str = "", purpose_kind: str = "", motive: str = "",
    subject: str = "", hint: str = "",
) -> Route:  # fmt: skip
    kind, routed_by = processing_kind_for(
        item_kind=item_kind, document_type=document_type, purpose_kind=purpose_kind, motive=motive,
        subject=subject, hint=hint,
    )  # fmt: skip
    return Route(basket_for(caisse_code=caisse_code, processing_kind=kind), kind, routed_by)


def load_routing_rules(rules: Iterable[dict[str, Any]], rule_model: Any = RoutingRule) -> int:
    """Create the shipped rules that are missing (rules changed in the admin are kept). The model is a parameter so
    that data migrations can pass their historical model."""
    keys = ("item_kind", "document_type", "purpose_kind", "motive", "subject_words")
    existing = set(rule_model.objects.values_list(*keys))
    missing = []
    for rule in rules:
        values = {k: rule.get(k, "") for k in keys}
        if tuple(values.values()) not in existing:
            missing.append(rule_model(**values, processing_kind=rule["processing_kind"]))
    rule_model.objects.bulk_create(missing)
    forget_routing()  # bulk_create sends no signal
    return len(missing)


def seed_baskets() -> int:
    """One basket per caisse and kind of processing (idempotent); returns how many were created."""
    existing = set(Basket.objects.values_list("caisse_id", "kind"))
    missing = [
        Basket(caisse_id=code, kind=kind)
        for code in Caisse.objects.values_list("code", flat=True)
        for kind in ProcessingKind.values
        if (code, kind) not in existing
    ]
    Basket.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
