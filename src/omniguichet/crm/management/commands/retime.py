"""`omniguichet retime --kind message [--motive CODE] [--batch N]`: recompute the deadlines of the open work items
that a deadline policy governs, from when each started waiting, in batches (docs/deadlines.md). Saving a policy
does it by itself once committed (in the worker); this command is for a policy changed by a bulk update or a
migration, or to re-time at once."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.crm.services import retime_open_items
from omniguichet.crm.validators import validate_work_item_kind


class Command(BaseCommand):
    help = "Re-time the open work items of a kind (and motive) after a change of deadline policy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, help="kind of work item: message, email, document...")
        parser.add_argument("--motive", default=None, help="only this motive's items (default: every motive "
                            "without a policy of its own)")  # fmt: skip
        parser.add_argument("--batch", type=int, default=1000, help="items per transaction (default 1000)")

    def handle(self, *args, kind: str, motive: str | None, batch: int, **options) -> None:
        from django.core.exceptions import ValidationError

        try:
            validate_work_item_kind(kind)
        except ValidationError as exc:
            raise CommandError(f"--kind: {exc.messages[0]}") from None
        if batch < 1:
            raise CommandError("--batch: at least 1")
        start = time.perf_counter()
        count = retime_open_items(kind=kind, motive=motive or None, batch=batch)
        elapsed = time.perf_counter() - start
        self.stdout.write(f"{count} open {kind} items re-timed in {elapsed:.1f} s")
