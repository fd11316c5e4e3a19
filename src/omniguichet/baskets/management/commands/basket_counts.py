"""`omniguichet basket_counts [--compact | --rebuild]`: check the baskets' open counters against a count of the open
work items (exit status 1 when they differ), fold their deltas (`--compact`, what the ledger's sweep does), or
replace them by that count (`--rebuild`, writers held off meanwhile). See docs/baskets.md."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.baskets.services import check_counts, compact_counts


class Command(BaseCommand):
    help = "Check the baskets' open counters against the open work items (or compact, or rebuild them)."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--compact", action="store_true", help="fold the counters' deltas (one row a basket "
                            "and kind)")  # fmt: skip
        action.add_argument("--rebuild", action="store_true", help="replace the counters by a count of the open "
                            "items")  # fmt: skip

    def handle(self, *args, compact: bool, rebuild: bool, **options) -> None:
        start = time.perf_counter()
        if compact:
            rows = compact_counts()
            self.stdout.write(f"counters compacted: {rows} rows left in {time.perf_counter() - start:.1f} s")
            return
        wrong = check_counts(rebuild=rebuild)
        elapsed = time.perf_counter() - start
        for row in wrong[:20]:
            self.stdout.write(
                f"basket {row.basket_id} {row.kind}: {row.counted} open, counters say {row.kept}"
            )
        if rebuild:
            self.stdout.write(
                f"counters rebuilt ({len(wrong)} baskets and kinds differed) in {elapsed:.1f} s"
            )
        elif wrong:
            raise CommandError(
                f"{len(wrong)} baskets and kinds differ from their open items ({elapsed:.1f} s)"
            )
        else:
            self.stdout.write(f"counters match the open items ({elapsed:.1f} s)")
