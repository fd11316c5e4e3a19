"""Routing: the basket of the right caisse, and the processing kind, of a deposited document."""

from __future__ import annotations

from typing import Any

from omniguichet.documents.models import (
    Basket,
    ProcessingKind,
    RoutingRule,
)
from omniguichet.referential.models import Caisse


def processing_kind_for(*, document_type: str, purpose_kind: str, hint: str = "") -> str:
    """The rule naming (type, purpose) wins; then the rule for (type, every purpose); then the purpose's own
    hint; then the general basket."""
    rules = {
        r.purpose_kind: r.processing_kind
        for r in RoutingRule.objects.filter(document_type=document_type, purpose_kind__in=[purpose_kind, ""])
    }
    if purpose_kind in rules:
        return rules[purpose_kind]
    if "" in rules:
        return rules[""]
    if hint in ProcessingKind.values:
        return hint
    return ProcessingKind.GENERAL


def basket_for(*, caisse_code: str, processing_kind: str) -> Basket:
    basket, _created = Basket.objects.get_or_create(caisse_id=caisse_code, kind=processing_kind)
    return basket


# The routing shipped with the platform: (document type, purpose kind or "" for every purpose, processing kind).
# Loaded by a data migration; edited in the admin afterwards.
DEFAULT_ROUTING_RULES = [
    ("bank_details", "", "remboursements"),
    ("bank_details", "case_request", "ij"),
    ("sick_leave_form", "", "ij"),
    ("salary_certificate", "", "ij"),
    ("proof_of_income", "", "c2s"),
    ("proof_of_income", "case_request", "ij"),
    ("birth_certificate", "", "droits"),
    ("proof_of_address", "", "droits"),
    ("identity_document", "", "droits"),
]


def load_routing_rules(rule_model: Any = RoutingRule) -> int:
    """Create the shipped routing rules that are missing (rules changed in the admin are kept). The model is a
    parameter so that the data migration can pass its historical model."""
    existing = set(rule_model.objects.values_list("document_type", "purpose_kind"))
    missing = [
        rule_model(document_type=document_type, purpose_kind=purpose_kind, processing_kind=processing_kind)
        for document_type, purpose_kind, processing_kind in DEFAULT_ROUTING_RULES
        if (document_type, purpose_kind) not in existing
    ]
    rule_model.objects.bulk_create(missing)
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
