from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Archive the database, the document store (encrypted files) and the warehouse in one tar file "
        "(docs/operations.md). The document keys are not in it: keep them apart."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="the archive to write (.tar)")

    def handle(self, *args, **options) -> None:
        try:
            report = backup(Path(options["out"]))
        except BackupError as exc:
            raise CommandError(f"Sauvegarde impossible / backup failed: {exc}") from None
        manifest = report.manifest
        counts = ", ".join(f"{v:,} {k}" for k, v in manifest["counts"].items())
        self.stdout.write(
            f"Sauvegarde écrite / backup written: {report.archive} ({counts}; {manifest['document_files']} "
            f"document files, {manifest['warehouse_files']} warehouse files)."
        )
        self.stdout.write(
            "Clés des documents nécessaires à la restauration / document keys needed to restore: "
            + ", ".join(manifest["document_keys"])
            + " — elles ne sont pas dans l'archive / they are not in the archive."
        )
