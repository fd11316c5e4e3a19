"""The `omniguichet` command: Django's manage.py with the platform's settings (all Django commands plus ours)."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniguichet.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["omniguichet", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
