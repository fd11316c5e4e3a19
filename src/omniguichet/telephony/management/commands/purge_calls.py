"""`omniguichet purge_calls`: delete the calls past their retention (telephony.services.retention,
docs/telephony.md "Retention")."""

from __future__ import annotations

import getpass

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.core import retention
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import ServiceError
from omniguichet.telephony.services.retention import SETTING, purge_old_calls, retention_months


class Command(BaseCommand):
    help = (
        f"Delete the calls (and their event lines) started before the retention ({SETTING}) or before "
        "--older-than; --dry-run counts what would go."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            metavar="MONTHS|YYYY-MM",
            help="the calls started more than this many months ago, or before this month (never the current one)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted; change nothing"
        )

    def handle(self, *args, **options) -> None:
        try:
            retention_months()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        try:
            first_kept = (
                retention.parse_older_than(options["older_than"])
                if options["older_than"] is not None
                else None
            )
            report = purge_old_calls(
                actor=Actor.system(f"command purge_calls ({getpass.getuser()})"),
                channel=Channel.BACKOFFICE,
                first_kept=first_kept,
                dry_run=options["dry_run"],
            )
        except ServiceError as exc:
            fields = "; ".join(f"{name}: {reason}" for name, reason in (exc.fields or {}).items())
            raise CommandError(fields.replace("detach_older_than", "--older-than") or exc.message) from exc
        if report.first_kept is None:
            self.stdout.write(f"Nothing to do: calls are {report.rule}. Give --older-than to delete anyway.")
            return
        verb = "would be deleted (dry run: nothing changed)" if report.dry_run else "deleted"
        self.stdout.write(f"{report.calls} call(s) and {report.events} event line(s) {verb}: {report.rule}.")
