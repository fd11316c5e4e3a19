from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from omniguichet.cases.services import MAX_BATCH
from omniguichet.core.errors import ServiceError
from omniguichet.demo.backoffice import simulate_backoffice


class Command(BaseCommand):
    help = (
        "Play realistic back-office case events for the seeded population (sick pay with payments every 14 days, "
        "reimbursements, card orders, CSS) through the case-event ingestion; recent events trigger messages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, required=True, help="how many events to play")
        parser.add_argument(
            "--seed", type=int, default=7, help="same seed, same events (a replay changes nothing)"
        )
        parser.add_argument("--batch", type=int, default=MAX_BATCH, help="events per ingestion batch")
        parser.add_argument("--days", type=int, default=120, help="cases opened over the last DAYS days")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        console = Console(file=self.stdout._out)  # type: ignore[arg-type]
        columns = [TextColumn("[bold]Back office"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn()]  # fmt: skip
        with Progress(*columns, console=console, disable=options["no_progress"]) as progress:
            task = progress.add_task("events", total=options["events"])
            try:
                report = simulate_backoffice(
                    events=options["events"], seed=options["seed"], batch=options["batch"],
                    within_days=options["days"], progress=lambda n: progress.advance(task, n),
                )  # fmt: skip
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
        rate = report.events / report.seconds if report.seconds else 0
        self.stdout.write(
            f"{report.events:,} events ({report.cases:,} new cases): {report.applied:,} applied, {report.held:,} "
            f"held, {report.released:,} released later, {report.duplicates:,} duplicates, {report.rejected:,} "
            f"rejected in {report.seconds:.1f} s ({rate:,.0f} events/s)."
        )
