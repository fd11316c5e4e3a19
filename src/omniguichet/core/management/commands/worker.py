from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run the background task worker (django-tasks database backend) on every queue, with a lease renewed by a "
        "heartbeat: tasks of a killed worker run again (docs/production.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="process what is queued, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")

    def handle(self, *args, **options) -> None:
        extra = ["--batch"] if options["batch"] else []
        # Apps may pick up work a killed worker left behind (AppConfig.on_worker_start).
        for config in apps.get_app_configs():
            if hasattr(config, "on_worker_start"):
                config.on_worker_start()
        from django.conf import settings

        if settings.TASK_QUEUE == "redis":
            # RQ's worker (settings.RQ: our class, core.rq) and its scheduler (tasks with a run_after); a job of a
            # worker that died runs again through RQ's lease (core.rq).
            burst = ["--burst"] if options["batch"] else []
            call_command("rqworker", "default", "--with-scheduler", *burst)
            return
        from omniguichet.core.workers import Heartbeat, beat, new_worker_id

        worker_id = new_worker_id()
        beat(worker_id)  # the lease exists before the first task is claimed
        # A --batch run (tests, a one-off catch-up) is short: it does not renew its lease from a second thread, whose
        # writes would contend with the run's own on one SQLite database. A task it leaves running past the lease
        # is queued again like any other.
        heartbeat = None if options["batch"] else Heartbeat(worker_id)
        if heartbeat is not None:
            heartbeat.start()
        try:
            call_command(
                "db_worker", "--queue-name", "*", "--interval", str(options["interval"]), "--no-reload",
                "--worker-id", worker_id, *extra,
            )  # fmt: skip
        finally:
            if heartbeat is not None:
                heartbeat.stop()
