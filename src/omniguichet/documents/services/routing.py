"""Routing of a deposited document: the rules of the baskets app (item kind "document": by document type and
purpose), the purpose's own hint, then the general basket. The rules shipped with the platform are here."""

from __future__ import annotations

from typing import Any

from omniguichet.baskets import services as baskets
from omniguichet.baskets.models import RoutingRule
from omniguichet.baskets.services import basket_for, seed_baskets

WORK_ITEM_KIND = "document"

__all__ = ["WORK_ITEM_KIND", "basket_for", "seed_baskets"]


def processing_kind_for(*, document_type: str, purpose_kind: str, hint: str = "") -> str:
    """The rule naming (type, purpose) wins; then the rule for (type, every purpose); then the purpose's own
    hint; then the general basket."""
    kind, _routed_by = baskets.processing_kind_for(
        item_kind=WORK_ITEM_KIND, document_type=document_type, purpose_kind=purpose_kind, hint=hint
    )
    return kind


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
    """Create the shipped routing rules of documents that are missing (rules changed in the admin are kept)."""
    return baskets.load_routing_rules(
        [
            {"item_kind": WORK_ITEM_KIND, "document_type": t, "purpose_kind": p, "processing_kind": k}
            for t, p, k in DEFAULT_ROUTING_RULES
        ],
        rule_model,
    )
