import argparse
import signal
import subprocess
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Receive e-mail for the caisses (<code>@OMNIGUICHET_MAILIN_DOMAIN) by SMTP and store it as threads of the "
        "agents' queue (docs/messaging.md, E-mail). Ctrl-C stops it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.OMNIGUICHET_MAILIN_PORT)
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="threads storing mail (default: 1 on SQLite, 4 on PostgreSQL)",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="server processes sharing the port (SO_REUSEPORT: the kernel shares the connections out); one "
            "process uses about one core",
        )
        parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options) -> None:
        from omniguichet.messaging.services.mailin import mailin_domain
        from omniguichet.messaging.services.smtpserver import make_controller

        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if options["processes"] > 1:
            self._several(options)
            return
        controller = make_controller(
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            reuse_port=options["reuse_port"],
        )
        controller.start()
        self.stdout.write(
            f"mailin: SMTP on {options['host']}:{options['port']}, addresses <caisse code>@{mailin_domain()}, "
            f"at most {settings.OMNIGUICHET_MAILIN_MAX_BYTES // (1024 * 1024)} MB a message"
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
            controller.handler.close()

    def _several(self, options) -> None:
        command = [sys.executable, "-m", "omniguichet.cli", "mailin", "--host", options["host"], "--port",
                   str(options["port"]), "--reuse-port"]  # fmt: skip
        if options["workers"] is not None:
            command += ["--workers", str(options["workers"])]
        children = [subprocess.Popen(command) for _ in range(options["processes"])]
        try:
            while all(child.poll() is None for child in children):
                threading.Event().wait(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
