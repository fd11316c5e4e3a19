import time

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

from omniguichet.appointments.services import seed_sites
from omniguichet.core.errors import ServiceError
from omniguichet.demo.documents import seed_documents
from omniguichet.demo.services import (
    DEMO_AGENT_PASSWORD,
    DEMO_SUPERVISOR_PASSWORD,
    ensure_demo_second_factor,
    seed_contacts,
    seed_population,
)
from omniguichet.demo.teleservices import seed_online_services
from omniguichet.documents.services import seed_baskets
from omniguichet.referential.models import Person


class Command(BaseCommand):
    help = (
        "Create a deterministic synthetic population (persons, dependants, accounts, contact points, ...) "
        "and, with --contacts, their contact history on every channel."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=0, help="number of insured persons to create")
        parser.add_argument(
            "--contacts",
            type=int,
            default=0,
            help="number of contacts to add over the last two years (with --persons 0: to the existing persons)",
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same population)")
        parser.add_argument(
            "--append", action="store_true", help="add to a database that already has persons"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when the database already has persons",
        )
        parser.add_argument("--employers", type=int, default=None, help="default: persons / 200")
        parser.add_argument("--professionals", type=int, default=None, help="default: persons / 300")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")

    def handle(self, *args, **options) -> None:
        persons, contacts = options["persons"], options["contacts"]
        if persons < 0 or contacts < 0:
            raise CommandError("--persons and --contacts must be zero or more")
        if not persons and not contacts:
            raise CommandError("nothing to seed: give --persons N and/or --contacts N")
        if options["if_empty"] and Person.objects.exists():
            ensure_demo_second_factor()  # a demo database seeded before the staff's second factor existed
            self.stdout.write("The database already has a population: nothing seeded.")
            return
        console = Console(file=self.stdout._out, stderr=False)  # type: ignore[arg-type]
        if persons:
            self._seed_persons(console, options)
            self.stdout.write(seed_online_services(seed=options["seed"]))
            self.stdout.write(
                f"{seed_baskets()} document baskets created."
            )  # documents app: one per caisse x kind
            self.stdout.write(f"{seed_sites():,} appointment and reception sites.")
            self.stdout.write(seed_documents(seed=options["seed"], progress=not options["no_progress"]))
        if contacts:
            self._seed_contacts(console, options)

    def _progress(self, console: Console, label: str, disable: bool) -> Progress:
        columns = [
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        return Progress(*columns, console=console, disable=disable)

    def _seed_persons(self, console: Console, options: dict) -> None:
        with self._progress(console, "Population", options["no_progress"]) as progress:
            task = progress.add_task("persons", total=options["persons"])
            try:
                report = seed_population(
                    persons=options["persons"],
                    seed=options["seed"],
                    append=options["append"],
                    employers=options["employers"],
                    professionals=options["professionals"],
                    progress=lambda n: progress.advance(task, n),
                )
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
        rate = report.persons / report.seconds if report.seconds else 0
        self.stdout.write(
            f"{report.persons:,} persons ({report.dependants:,} dependants), {report.accounts:,} online accounts, "
            f"{report.contact_points:,} contact points, {report.preferences:,} channel preferences, "
            f"{report.consents:,} consents, {report.employers:,} employers, {report.professionals:,} "
            f"professionals, {report.users} new staff users in {report.seconds:.1f} s ({rate:,.0f} persons/s)."
        )
        if report.users:
            self.stdout.write(
                f"Demo logins: agent-<caisse code> / {DEMO_AGENT_PASSWORD} (e.g. agent-751), "
                f"supervisor / {DEMO_SUPERVISOR_PASSWORD}, then the code of `omniguichet totp --user NAME` (second "
                "factor). For demonstration only."
            )

    def _seed_contacts(self, console: Console, options: dict) -> None:
        started = time.perf_counter()
        with self._progress(console, "Contacts  ", options["no_progress"]) as progress:
            task = progress.add_task("contacts", total=options["contacts"])
            try:
                written = seed_contacts(
                    count=options["contacts"],
                    seed=options["seed"],
                    progress=lambda n: progress.advance(task, n),
                )
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
        seconds = time.perf_counter() - started
        rate = written / seconds if seconds else 0
        self.stdout.write(
            f"{written:,} contacts over the last two years in {seconds:.1f} s ({rate:,.0f} contacts/s)."
        )
