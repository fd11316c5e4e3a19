"""The start-up check of the document keys (`omniguichet check --database default`, `serve`, `migrate`)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register


@register(Tags.database)
def document_keys(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    if not databases or "default" not in databases:
        return []
    from django.db.utils import DatabaseError

    from omniguichet.documents.services.storage import check_document_keys

    try:
        problems = check_document_keys()
    except DatabaseError:  # before the first migration: nothing encrypted yet
        return []
    except ValueError as exc:  # a malformed OMNIGUICHET_DOCUMENT_KEY
        problems = [str(exc)]
    return [
        Error(
            problem,
            hint="Configure the document keys this platform's documents were encrypted with (docs/operations.md).",
            id="documents.E001",
        )
        for problem in problems
    ]
