import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Run the web server, the background worker and the e-mail receiver (mailin, SMTP on a local port) together; "
        "Ctrl-C stops them all. Without --production: Django's development server (the demo). With --production: "
        "gunicorn with N workers (docs/production.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--production", action="store_true", help="gunicorn, production settings, static files"
        )
        parser.add_argument(
            "--workers", type=int, default=0, help="web worker processes (default: 2 x cores + 1)"
        )
        parser.add_argument("--task-workers", type=int, default=1, help="background task workers")
        parser.add_argument(
            "--mailin-port",
            type=int,
            default=None,
            help="the SMTP port of mailin, on 127.0.0.1 (default: OMNIGUICHET_MAILIN_PORT, 2525); 0: no mailin",
        )

    def handle(self, *args, **options) -> None:
        from django.conf import settings

        # A plain `kill` (SIGTERM) must stop the children too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        entry = [sys.executable, "-m", "omniguichet.cli"]
        address = f"{options['host']}:{options['port']}"
        mailin_port = options["mailin_port"]
        if mailin_port is None:
            mailin_port = settings.OMNIGUICHET_MAILIN_PORT
        # E-mail for the caisses (issue 17): on the loopback only; a production MTA relays to it.
        mailin = (
            [*entry, "mailin", "--host", "127.0.0.1", "--port", str(mailin_port)] if mailin_port else None
        )
        if options["production"]:
            from omniguichet.core.production import missing_environment

            missing = missing_environment()
            if missing:
                raise CommandError(
                    "Production refuse de démarrer : variables d'environnement absentes / production refuses to "
                    f"start, environment variables not set: {', '.join(missing)} (docs/production.md)."
                )
            env = {**os.environ, "OMNIGUICHET_PRODUCTION": "1", "DEBUG": "0"}
            subprocess.run([*entry, "collectstatic", "--noinput", "-v", "0"], env=env, check=True)
            workers = options["workers"] or 2 * (os.cpu_count() or 1) + 1
            web = [
                sys.executable, "-m", "gunicorn", "omniguichet.wsgi:application",
                "--bind", address, "--workers", str(workers), "--access-logfile", "-",
                "--forwarded-allow-ips", os.environ.get("OMNIGUICHET_TRUSTED_PROXIES", "127.0.0.1,::1"),
            ]  # fmt: skip
            processes = [
                subprocess.Popen([*entry, "worker"], env=env) for _ in range(options["task_workers"])
            ]
            processes.append(subprocess.Popen(web, env=env))
            if mailin:
                processes.append(subprocess.Popen(mailin, env=env))
        else:
            processes = [
                subprocess.Popen([*entry, "worker"]),
                subprocess.Popen([*entry, "runserver", "--noreload", address]),
            ]
            if mailin:
                processes.append(subprocess.Popen(mailin))
        try:
            # Whichever stops first (a crash, a signal) stops the other: a half-running server misleads.
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    # gunicorn and mailin stop gracefully on SIGTERM; the worker and runserver on SIGINT.
                    command = str(process.args)
                    graceful = (
                        signal.SIGTERM if "gunicorn" in command or "'mailin'" in command else signal.SIGINT
                    )
                    process.send_signal(graceful)
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
