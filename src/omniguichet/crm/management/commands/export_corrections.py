import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from omniguichet.crm.services import labelled_examples_jsonl


class Command(BaseCommand):
    help = (
        "Write the agents' corrections of messages' motives as training lines (JSON lines: subject, body, motive), "
        "to add to the classifier's corpus before training it again (docs/classifier.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="-", help="the file to write (default: standard output)")

    def handle(self, *args, **options) -> None:
        lines = list(labelled_examples_jsonl())
        text = "".join(line + "\n" for line in lines)
        if options["out"] == "-":
            sys.stdout.write(text)
        else:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"{len(lines)} corrections written to {options['out']}")
