from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.analytics import kpi_cli, services
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import ServiceError


class Command(BaseCommand):
    help = kpi_cli.DESCRIPTION
    # No system checks: they load the URL conf (every view, the API and its schemas), a second or so for a
    # command that reads Parquet files and writes a CSV (issue 15); its weights are checked by compute_kpi. On
    # files, `omniguichet kpi` does not even start Django (analytics.kpi_cli).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        kpi_cli.add_arguments(parser)

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
        kpi_cli.write_outputs(
            result, by=options["by"], out=options["out"], bonus=options["bonus"], stdout=self.stdout
        )
