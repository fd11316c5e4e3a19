"""`omniguichet partitions`: the monthly partitions of PostgreSQL, and the retention of the old months
(core.retention, docs/scale.md "Retention of old months")."""

from __future__ import annotations

import getpass

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from omniguichet.core import partitions, retention
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import ServiceError

DONE = {"drop": "dropped", "archive": "archived"}


class Command(BaseCommand):
    help = (
        "List the monthly partitions (PostgreSQL), or detach then drop or archive the months past retention: "
        "--retention follows the settings, --detach-older-than asks for a cut-off; --dry-run says what would go."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group()
        what.add_argument(
            "--detach-older-than",
            metavar="MONTHS|YYYY-MM",
            help="detach the months older than this many months, or before this month (never the current one)",
        )
        what.add_argument(
            "--retention", action="store_true", help="detach the months past each table's retention setting"
        )
        parser.add_argument(
            "--table", action="append", default=None, help="only this partitioned table (repeatable)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say what would be detached and why months are kept; change nothing",
        )

    def handle(self, *args, **options) -> None:
        try:
            retention.policies()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        try:
            if options["detach_older_than"] is None and not options["retention"]:
                if options["dry_run"]:
                    raise CommandError("--dry-run goes with --detach-older-than or --retention")
                self._list(options["table"])
                return
            older_than = (
                retention.parse_older_than(options["detach_older_than"])
                if options["detach_older_than"] is not None
                else None
            )
            report = retention.apply_retention(
                actor=Actor.system(f"command partitions ({getpass.getuser()})"),
                channel=Channel.BACKOFFICE,
                older_than=older_than,
                tables=options["table"],
                dry_run=options["dry_run"],
                on_step=self._step if not options["dry_run"] else self._planned,
            )
        except ServiceError as exc:
            fields = "; ".join(f"{name}: {reason}" for name, reason in (exc.fields or {}).items())
            raise CommandError(fields or exc.message) from exc
        if not report.steps:
            self.stdout.write("Nothing past retention.")
            return
        if report.dry_run:
            going = len([s for s in report.steps if not s.kept])
            self.stdout.write(
                f"Dry run: {going} month(s) would leave, {len(report.kept)} kept. Nothing changed."
            )
        else:
            self.stdout.write(f"{len(report.left)} month(s) left their table, {len(report.kept)} kept.")

    def _planned(self, step: retention.Step) -> None:
        rows = f"~{step.rows} rows" if step.rows >= 0 else "rows not counted yet"
        then = DONE[step.action]
        if step.kept:
            self.stdout.write(f"{step.partition} ({step.month:%Y-%m}, {rows}): kept: {step.kept}")
        elif step.detached:
            self.stdout.write(f"{step.partition} ({step.month:%Y-%m}): already detached, would be {then}")
        else:
            self.stdout.write(
                f"{step.partition} ({step.month:%Y-%m}, {rows}): would be detached, then {then}"
            )

    def _step(self, step: retention.Step) -> None:
        if step.kept:
            self.stdout.write(f"{step.partition} ({step.month:%Y-%m}): kept: {step.kept}")
        else:
            self.stdout.write(f"{step.partition} ({step.month:%Y-%m}): {step.done}, {step.rows} rows")

    def _list(self, tables: list[str] | None) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                f"this database ({connection.vendor}) keeps one table per model: no monthly partitions"
            )
        known = partitions.partitioned_tables()
        for table in tables or sorted(known):
            if table not in known:
                raise CommandError(
                    f"--table: not a partitioned table: {table} (known: {', '.join(sorted(known))})"
                )
            names = partitions.partitions(table)
            months = [n for n in names if n != f"{table}_default"]
            first = months[0].rsplit("_p", 1)[1] if months else "-"
            last = months[-1].rsplit("_p", 1)[1] if months else "-"
            horizon = retention.horizon(table)
            policy = retention.policies().get(table)
            keep = (
                f"{policy.months} months, then {DONE[policy.action]}"
                if policy and policy.months
                else "for ever"
            )
            default = "a" if len(months) < len(names) else "no"
            line = f"{table}: {len(months)} monthly partitions ({first} to {last}) and {default} default one;"
            line += f" kept {keep}"
            if horizon:
                line += f"; the months before {horizon:%Y-%m} have left"
            self.stdout.write(line)
