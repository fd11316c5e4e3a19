import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the web server and the background worker together (for the demo); Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options) -> None:
        # A plain `kill` (SIGTERM) must stop the children too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        entry = [sys.executable, "-m", "omniguichet.cli"]
        processes = [
            subprocess.Popen([*entry, "worker"]),
            subprocess.Popen([*entry, "runserver", "--noreload", f"{options['host']}:{options['port']}"]),
        ]
        try:
            # Whichever stops first (a crash, a signal) stops the other: a half-running demo misleads.
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
