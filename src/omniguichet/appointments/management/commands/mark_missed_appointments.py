from django.core.management.base import BaseCommand, CommandParser

from omniguichet.appointments.services import mark_missed


class Command(BaseCommand):
    help = (
        "Mark missed the appointments whose time passed without a visit or call-back outcome, recording a "
        "contact for each (idempotent: run it as often as you like; the worker also does it periodically)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=500, help="appointments marked per transaction")

    def handle(self, *args, **options) -> None:
        marked = mark_missed(batch=max(1, options["batch"]))
        self.stdout.write(f"{marked} appointment(s) marked missed")
