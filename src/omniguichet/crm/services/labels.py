"""Agents' corrections of a message's motive, kept as labelled examples for the classifier (docs/classifier.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from omniguichet.core.actors import Actor
from omniguichet.crm.models import LabelledExample, Motive


def keep_labelled_example(
    *, actor: Actor, subject: str, body: str, motive: Motive, suggested: str = "", confidence: float | None = None,
    source: str,
) -> LabelledExample:  # fmt: skip
    return LabelledExample.objects.create(
        subject=subject[:200], body=body[:5000], motive=motive, suggested=suggested[:40], confidence=confidence,
        source=source[:16], agent=actor.user,
    )  # fmt: skip


def labelled_examples_jsonl() -> Iterator[str]:
    """The corrections as lines of the training corpus' format (`{"subject", "body", "motive"}`), oldest first."""
    for subject, body, motive in LabelledExample.objects.order_by("created_at", "id").values_list(
        "subject", "body", "motive_id"
    ):
        yield json.dumps({"subject": subject, "body": body, "motive": motive}, ensure_ascii=False)
