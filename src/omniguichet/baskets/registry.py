"""The kinds of work items, registered at start-up by the apps that bring the work (documents, messaging, ...):
what an item of the kind is called, where its page is, which routing criteria apply to it, and the per-kind
actions the basket console offers beside the common ones (claim, open, transfer). The baskets app imports none of
those apps: they register here (docs/architecture.md, "Upward needs are registered, not imported")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# The routing criteria a kind may use (RoutingRule's optional fields).
CRITERIA = ("document_type", "purpose_kind", "motive", "subject_words")


@dataclass(frozen=True)
class KindAction:
    """A per-kind action of the console: `handler(actor=..., subject_ids=..., reason=...)` returns, for each subject,
    (subject id, done, refusal reason). `needs_reason`: the console asks for the reason field."""

    label: Any
    handler: Callable[..., Sequence[tuple[int, bool, str]]]
    needs_reason: bool = False
    key: str = ""


@dataclass(frozen=True)
class ItemKind:
    code: str
    label: Any
    # The subject's page for an agent (subject id -> URL).
    url: Callable[[int], str]
    criteria: tuple[str, ...] = ()
    # The list's text for an item (item -> str); default: the item's stored summary.
    describe: Callable[[Any], str] | None = None
    actions: dict[str, KindAction] = field(default_factory=dict)
    # Called inside the transaction after items of this kind were claimed or moved, to keep the subjects in step
    # (a document's own basket and claimant): hook(items).
    after_claim: Callable[[list[Any]], None] | None = None
    after_transfer: Callable[[list[Any]], None] | None = None


_kinds: dict[str, ItemKind] = {}


def register_item_kind(kind: ItemKind) -> None:
    unknown = set(kind.criteria) - set(CRITERIA)
    if unknown:
        raise ValueError(f"unknown routing criteria {sorted(unknown)} for {kind.code}")
    _kinds[kind.code] = kind


def item_kind(code: str) -> ItemKind | None:
    return _kinds.get(code)


def item_kinds() -> list[ItemKind]:
    return list(_kinds.values())


def kind_choices() -> list[tuple[str, str]]:
    return [(k.code, str(k.label)) for k in _kinds.values()]


def criteria_of(code: str) -> tuple[str, ...]:
    kind = _kinds.get(code)
    return kind.criteria if kind else ()
