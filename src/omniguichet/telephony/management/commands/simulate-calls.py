import datetime as dt

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

from omniguichet.core.errors import ServiceError
from omniguichet.telephony.services import simulate_day


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--day: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Play a realistic day of inbound calls (peaks at 09:00 and 14:00, abandonment growing with the wait) "
        "through the telephony event ingestion: calls, their contacts and the call-back offers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, required=True, help="how many calls to play")
        parser.add_argument("--day", default="", help="the day (YYYY-MM-DD, a past day; default: yesterday)")
        parser.add_argument("--caisse", default="", help="only callers and agents of this caisse (its code)")
        parser.add_argument(
            "--seed", type=int, default=11, help="same seed, same day (a replay changes nothing)"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        day = _day(options["day"]) if options["day"] else dt.date.today() - dt.timedelta(days=1)
        console = Console(file=self.stdout._out)  # type: ignore[arg-type]
        columns = [TextColumn("[bold]Calls"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn()]  # fmt: skip
        with Progress(*columns, console=console, disable=options["no_progress"]) as progress:
            task = progress.add_task("calls", total=options["calls"])
            try:
                report = simulate_day(
                    calls=options["calls"], day=day, caisse=options["caisse"] or None, seed=options["seed"],
                    progress=lambda n: progress.advance(task, n),
                )  # fmt: skip
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
        rate = report.events / report.seconds if report.seconds else 0
        self.stdout.write(
            f"{day:%Y-%m-%d}: {report.calls:,} calls, {report.answered:,} answered, {report.abandoned:,} abandoned "
            f"(answer rate {report.answer_rate:.1%}); {report.identified:,} callers identified, "
            f"{report.callbacks_offered:,} call-backs offered by SMS; {report.events:,} events in "
            f"{report.seconds:.1f} s ({rate:,.0f} events/s)."
        )
