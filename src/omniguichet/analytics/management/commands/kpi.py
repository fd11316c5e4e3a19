from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.analytics import engine, services
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Compute the seven steering indicators of a year for every caisse (targets: the national values of the "
        "year before) and write them as CSV; --bonus also writes the bonus points of each caisse."
    )
    # No system checks: they load the URL conf (every view, the API and its schemas), a second or so for a
    # command that reads Parquet files and writes a CSV (issue 15); its weights are checked by compute_kpi.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, required=True, help="the year to compute (targets: year - 1)")
        parser.add_argument("--by", choices=["year", "month"], default="year", help="period (default: year)")
        parser.add_argument(
            "--contacts", type=Path, help="contacts file (Parquet, directory of parts, or CSV)"
        )
        parser.add_argument("--persons", type=Path, help="persons file (Parquet or CSV)")
        parser.add_argument("--out", type=Path, required=True, help="CSV file of the indicators")
        parser.add_argument("--bonus", type=Path, help="CSV file of the bonus points of each caisse")
        parser.add_argument(
            "--weights",
            default=None,
            help='bonus weights, e.g. "demat_rate=2,recontact_rate=0.5" (default 1)',
        )

    def handle(self, *args, **options) -> None:
        try:
            result = services.compute_kpi(
                actor=Actor.system("kpi command"),
                channel=Channel.BACKOFFICE,
                year=options["year"],
                contacts=options["contacts"],
                persons=options["persons"],
                weights=options["weights"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        rows = result.rows(options["by"])
        engine.write_csv(options["out"], engine.INDICATOR_COLUMNS, engine.indicator_records(rows))
        self.stdout.write(f"{len(rows)} rows ({len(result.caisses())} caisses) written to {options['out']}")
        if options["bonus"]:
            engine.write_csv(options["bonus"], engine.BONUS_COLUMNS, engine.bonus_records(result.bonus))
            self.stdout.write(f"bonus of {len(result.bonus)} caisses written to {options['bonus']}")
