import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from omniguichet.cases.services import MAX_BATCH, ingest_case_events, parse_event_rows
from omniguichet.core.actors import Actor
from omniguichet.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Import case events from a file in the format of POST /api/v1/case-events (a JSON array, or NDJSON with "
        "one event per line), in batches; replaying a file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", default="import", help="the system the events come from")
        parser.add_argument(
            "--batch", type=int, default=MAX_BATCH, help=f"events per batch (at most {MAX_BATCH})"
        )
        parser.add_argument("--show-rejected", type=int, default=20, help="how many rejected rows to print")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if not 1 <= options["batch"] <= MAX_BATCH:
            raise CommandError(f"--batch must be between 1 and {MAX_BATCH}")
        ndjson = path.suffix in (".ndjson", ".jsonl") or not path.read_bytes()[:1].strip().startswith(b"[")
        try:
            rows = parse_event_rows(
                path.read_bytes(), "application/x-ndjson" if ndjson else "application/json"
            )
        except ServiceError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        console = Console(file=self.stdout._out)  # type: ignore[arg-type]
        totals = {"applied": 0, "held": 0, "duplicate": 0, "rejected": 0}
        released = 0
        shown = 0
        actor = Actor.system(f"import:{options['source']}")
        columns = [TextColumn("[bold]Case events"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console, disable=options["no_progress"]) as progress:
            task = progress.add_task("events", total=len(rows))
            for start in range(0, len(rows), options["batch"]):
                chunk = rows[start : start + options["batch"]]
                report = ingest_case_events(actor=actor, rows=chunk, source=options["source"])
                released += report.released
                for result in report.results:
                    totals[result.status] += 1
                    if result.status == "rejected" and shown < options["show_rejected"]:
                        shown += 1
                        reasons = "; ".join(f"{k}: {v}" for k, v in result.errors.items())
                        self.stdout.write(f"line {start + result.index + 1}: {result.event_id}: {reasons}")
                progress.advance(task, len(chunk))
        self.stdout.write(
            f"{totals['applied']:,} applied, {totals['held']:,} held, {totals['duplicate']:,} duplicates, "
            f"{totals['rejected']:,} rejected, {released:,} earlier held events released."
        )
        if totals["rejected"] and options["verbosity"] > 1:
            self.stdout.write(json.dumps(totals))
