import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def _start_redis() -> subprocess.Popen:
    """Debian's redis-server for the task queue, on the loopback address and port of REDIS_URL, its data (an
    append-only file) under var/redis; refused when REDIS_URL names another machine or redis-server is missing."""
    from urllib.parse import urlsplit

    url = urlsplit(settings.REDIS_URL)
    if url.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise CommandError(
            f"OMNIGUICHET_START_REDIS=1 démarre redis-server sur cette machine seulement / starts redis-server on "
            f"this machine only: REDIS_URL names {url.hostname}."
        )
    binary = shutil.which("redis-server")
    if binary is None:
        raise CommandError(
            "redis-server est absent / is missing: apt-get install redis-server (docs/production.md)."
        )
    data = settings.VAR_DIR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = url.port or 6379
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data), "--appendonly", "yes",
         "--save", "", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise CommandError(f"redis-server n'a pas démarré / did not start on port {port}.")
        time.sleep(0.1)


def _check_or_stop(entry: list[str], env: dict[str, str]) -> None:
    """The system checks with the database: the document keys must open this platform's documents, so a platform
    restored with a wrong key stops here, not at the first document an agent opens (docs/operations.md)."""
    if subprocess.run([*entry, "check", "--database", "default"], env=env).returncode != 0:
        raise CommandError(
            "Démarrage refusé : voir les erreurs ci-dessus / start refused: see the errors above (docs/operations.md)."
        )


class Command(BaseCommand):
    help = (
        "Run the web server, the background worker and the e-mail receiver (mailin, SMTP on a local port) together; "
        "Ctrl-C stops them all. Without --production: Django's development server (the demo). With --production: "
        "gunicorn with N workers and the push process of the agents' screen-pop (uvicorn; docs/production.md)."
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
            "--push-port",
            type=int,
            default=None,
            help="with --production: the port of the push process (uvicorn, the agents' screen-pop as server-sent "
            "events) on 127.0.0.1 (default: the web port + 1); 0: none, the consoles poll",
        )
        parser.add_argument(
            "--mailin-port",
            type=int,
            default=None,
            help="the SMTP port of mailin, on 127.0.0.1 (default: OMNIGUICHET_MAILIN_PORT, 2525); 0: no mailin",
        )

    def handle(self, *args, **options) -> None:

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
            _check_or_stop(entry, env)
            # gunicorn's workers share their request metrics through files (prometheus_client's multiprocess
            # mode), emptied at each start: figures of dead processes are not carried over.
            metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(settings.VAR_DIR / "prometheus")
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.makedirs(metrics_dir, exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            subprocess.run([*entry, "collectstatic", "--noinput", "-v", "0"], env=env, check=True)
            workers = options["workers"] or 2 * (os.cpu_count() or 1) + 1
            web = [
                sys.executable, "-m", "gunicorn", "omniguichet.wsgi:application",
                "--bind", address, "--workers", str(workers), "--access-logfile", "-",
                # The path without its query string (a search can hold a NIR), and the request's id.
                "--access-logformat", '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s',
                "--forwarded-allow-ips", os.environ.get("OMNIGUICHET_TRUSTED_PROXIES", "127.0.0.1,::1"),
            ]  # fmt: skip
            # The queue's redis-server on this machine, when asked (OMNIGUICHET_START_REDIS=1): started first, stopped
            # last; on several machines it runs on its own and every machine's REDIS_URL names it.
            redis = _start_redis() if os.environ.get("OMNIGUICHET_START_REDIS") == "1" else None
            processes = [] if redis is None else [redis]
            processes += [
                subprocess.Popen([*entry, "worker"], env=env) for _ in range(options["task_workers"])
            ]
            processes.append(subprocess.Popen(web, env=env))
            push_port = options["push_port"]
            if push_port is None:
                push_port = options["port"] + 1
            if push_port:
                # Django under ASGI for the server-sent events alone; the reverse proxy routes their path here
                # (deploy/nginx.conf). Loopback only, as mailin.
                push = [
                    sys.executable, "-m", "uvicorn", "omniguichet.asgi:application",
                    "--host", "127.0.0.1", "--port", str(push_port), "--lifespan", "off", "--no-access-log",
                    "--proxy-headers", "--forwarded-allow-ips",
                    os.environ.get("OMNIGUICHET_TRUSTED_PROXIES", "127.0.0.1,::1"),
                    "--timeout-graceful-shutdown", "3",
                ]  # fmt: skip
                processes.append(subprocess.Popen(push, env=env))
            if mailin:
                processes.append(subprocess.Popen(mailin, env=env))
        else:
            _check_or_stop(entry, dict(os.environ))
            # The development server has threads to spare: the agents' screen-pop streams from them.
            dev_env = {**os.environ, "SCREEN_POP_WSGI_STREAM": os.environ.get("SCREEN_POP_WSGI_STREAM", "1")}
            processes = [
                subprocess.Popen([*entry, "worker"]),
                subprocess.Popen([*entry, "runserver", "--noreload", address], env=dev_env),
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
                    # gunicorn, mailin and redis-server stop gracefully on SIGTERM; the worker and runserver on
                    # SIGINT. redis-server stops once the workers are gone (below), so none loses its queue.
                    command = str(process.args)
                    if "redis-server" in command:
                        continue
                    graceful = (
                        signal.SIGTERM
                        if "gunicorn" in command or "'mailin'" in command or "uvicorn" in command
                        else signal.SIGINT
                    )
                    process.send_signal(graceful)
            for process in sorted(processes, key=lambda p: "redis-server" in str(p.args)):
                if "redis-server" in str(process.args) and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
