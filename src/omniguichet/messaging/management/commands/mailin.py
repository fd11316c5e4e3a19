import signal
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

    def handle(self, *args, **options) -> None:
        from omniguichet.messaging.services.mailin import mailin_domain
        from omniguichet.messaging.services.smtpserver import make_controller

        signal.signal(signal.SIGTERM, signal.default_int_handler)
        controller = make_controller(host=options["host"], port=options["port"], workers=options["workers"])
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
