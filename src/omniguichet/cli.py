"""The `omniguichet` command: Django's manage.py with the platform's settings (all Django commands plus ours)."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniguichet.settings")
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["kpi"]:
        # The indicators of given files need neither the database nor the apps: no Django start-up for them.
        from omniguichet.analytics.kpi_cli import main as kpi_on_files

        status = kpi_on_files(args[1:])
        if status is not None:
            raise SystemExit(status)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["omniguichet", *args])


if __name__ == "__main__":
    main()
