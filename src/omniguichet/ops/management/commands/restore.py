from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.ops.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore an archive made by `omniguichet backup`: the database (replaced), the document store and the "
        "warehouse. Refused when the document keys configured here cannot open the archive's documents."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", required=True, help="the archive (.tar)")
        parser.add_argument("--yes", action="store_true", help="replace this platform's data without asking")

    def handle(self, *args, **options) -> None:
        if not options["yes"]:
            raise CommandError(
                "La restauration remplace toutes les données de cette plateforme : relancez avec --yes / "
                "restoring replaces all the data of this platform: run again with --yes."
            )
        try:
            manifest = restore(Path(options["source"]))
        except BackupError as exc:
            raise CommandError(f"Restauration refusée / restore refused: {exc}") from None
        # Same code as the archive's or newer: bring the schema up to date, then check the keys open the documents.
        call_command("migrate", verbosity=0)
        call_command("check", databases=["default"])
        counts = ", ".join(f"{v:,} {k}" for k, v in manifest["counts"].items())
        self.stdout.write(f"Restauré / restored: {options['source']} of {manifest['created_at']} ({counts}).")
