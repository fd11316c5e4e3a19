"""Background work of appointments (django_tasks, enqueued after commit)."""

from django_tasks import task

from omniguichet.appointments import services


@task()
def send_reminder(appointment_id: int, start_iso: str) -> bool:
    """The reminder 48 h before (enqueued with run_after at booking); does nothing if the appointment was
    cancelled or moved since (a moved appointment has its own reminder)."""
    return services.send_reminder_now(appointment_id, start_iso)
