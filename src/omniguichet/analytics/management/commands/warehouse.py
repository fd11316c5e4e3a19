from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from omniguichet.analytics import services
from omniguichet.analytics.models import ExportTrigger
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "The pseudonymised contact warehouse (Parquet): `warehouse export --out DIR`, `warehouse prune-log`, "
        "`warehouse migrate` (a flat warehouse to the month folders), "
        "`warehouse import --contacts FILE [--persons FILE]` (external history in the warehouse schema)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "export",
            help="append the new contacts, rewrite the parts of changed contacts and the person parts that changed",
        )
        export.add_argument(
            "--out", type=Path, default=None, help="warehouse directory (default: var/warehouse)"
        )
        export.add_argument("--batch-size", type=int, default=100_000, help="contacts per part file")
        export.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
        export.add_argument(
            "--no-precompute",
            action="store_true",
            help="do not compute the dashboards' figures (this year and last year) after the export",
        )
        migrate = sub.add_parser(
            "migrate",
            help="move a flat warehouse (contacts/part-*.parquet) to the month layout now (the next export does "
            "it otherwise)",
        )
        migrate.add_argument(
            "--out", type=Path, default=None, help="warehouse directory (default: var/warehouse)"
        )
        prune = sub.add_parser(
            "prune-log",
            help="delete the contact changes the warehouse has applied for good (crm change log)",
        )
        prune.add_argument(
            "--out", type=Path, default=None, help="warehouse directory (default: var/warehouse)"
        )

        history = sub.add_parser(
            "import",
            help="import external history in the warehouse schema (Parquet or CSV), checked before anything is "
            "written; importing the same files again writes nothing",
        )
        history.add_argument(
            "--contacts", type=Path, required=True, help="contacts (Parquet, directory, CSV)"
        )
        history.add_argument("--persons", type=Path, default=None, help="persons (Parquet, directory, CSV)")
        history.add_argument(
            "--out", type=Path, default=None, help="warehouse directory (default: var/warehouse)"
        )

    def handle(self, *args, **options) -> None:
        out = options["out"] or Path(settings.ANALYTICS_WAREHOUSE_DIR)
        actor = Actor.system("warehouse export")
        if options["action"] == "import":
            try:
                imported = services.import_history(
                    actor=actor,
                    channel=Channel.BACKOFFICE,
                    contacts=options["contacts"],
                    persons=options["persons"],
                    out=out,
                )
            except ServiceError as exc:
                raise CommandError(exc.message) from None
            if imported.already_imported:
                self.stdout.write(f"already imported as {imported.name}: nothing written")
            else:
                self.stdout.write(
                    f"{imported.contacts} contacts and {imported.persons} persons imported "
                    f"as {imported.name} into {out}"
                )
            return
        if options["action"] == "migrate":
            if not (out / "contacts").is_dir():
                raise CommandError(f"no warehouse in {out}: nothing to migrate")
            try:
                moved = services.migrate_warehouse(actor=actor, channel=Channel.BACKOFFICE, out=out)
            except ServiceError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(
                f"{moved} flat files moved to the month folders of {out / 'contacts'}"
                if moved
                else f"{out / 'contacts'} is already in the month layout: nothing to do"
            )
            return
        if options["action"] == "prune-log":
            try:
                deleted = services.prune_change_log(actor=actor, channel=Channel.BACKOFFICE, out=out)
            except ServiceError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(f"{deleted} applied contact change(s) deleted from the change log")
            return
        console = Console(file=self.stdout._out, stderr=False)  # type: ignore[arg-type]
        pending = services.pending_contacts(out=out)
        progress = Progress(
            TextColumn("[bold]contacts"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=options["no_progress"],
        )
        try:
            with progress:
                task = progress.add_task("export", total=pending)
                report = services.export_warehouse(
                    actor=actor,
                    channel=Channel.BACKOFFICE,
                    out=out,
                    batch_size=options["batch_size"],
                    on_batch=lambda n: progress.advance(task, n),
                    trigger=ExportTrigger.COMMAND,
                )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        persons = "unchanged" if report.persons is None else f"{report.persons} written"
        self.stdout.write(
            f"{report.contacts} contacts written, {report.changed} changed since their export, "
            f"{report.parts} part(s) written (up to contact id {report.high_water}, final up to {report.floor}); "
            f"persons: {persons}; warehouse: {out}"
        )
        if (
            not options["no_precompute"]
            and Path(out).resolve() == Path(settings.ANALYTICS_WAREHOUSE_DIR).resolve()
        ):
            years = services.precompute_dashboards(actor=actor, channel=Channel.BACKOFFICE)
            self.stdout.write(f"dashboard figures ready for {', '.join(str(y) for y in years)}")
