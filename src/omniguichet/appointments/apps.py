from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported

SERVICES = "omniguichet.appointments.services"


def _record_section() -> None:
    from omniguichet.crm.services import register_record_section

    register_record_section("next_appointments", lazy_function(f"{SERVICES}.next_appointments_section"))


def _deposit_purpose() -> None:
    # "Documents to bring or deposit beforehand": the person deposits the motive's documents for the
    # appointment (documents app, purpose kind "appointment").
    from omniguichet.documents.services import register_deposit_purpose

    register_deposit_purpose(
        "appointment",
        lazy_function(f"{SERVICES}.resolve_deposit_purpose"),
        lister=lazy_function(f"{SERVICES}.list_deposit_purposes"),
    )


def _email_attachments() -> None:
    # The confirmation, reminder and cancellation e-mails carry the appointment's .ics.
    from omniguichet.crm.models import SubjectKind
    from omniguichet.outreach.services import register_email_attachments

    register_email_attachments(SubjectKind.APPOINTMENT, lazy_function(f"{SERVICES}.ics_attachments"))


def _forget_patterns_on_change() -> None:
    # The free-slot search caches the weekly pattern of the sites, the sites of a caisse and the motives; a
    # change drops them. The cache lives in the services module: connected once it is imported.
    from django.db.models.signals import post_delete, post_save

    from omniguichet.appointments.models import AgentAvailability, AppointmentMotive, OpeningHours, Site
    from omniguichet.appointments.services import forget_weekly_patterns

    for model in (Site, OpeningHours, AgentAvailability, AppointmentMotive):
        post_save.connect(
            forget_weekly_patterns, sender=model, dispatch_uid=f"forget-patterns-save-{model.__name__}"
        )
        post_delete.connect(
            forget_weekly_patterns, sender=model, dispatch_uid=f"forget-patterns-del-{model.__name__}"
        )


def _case_appointments() -> None:
    # A person's cases show the appointments booked about them.
    from omniguichet.cases.services import register_case_appointments

    register_case_appointments(lazy_function(f"{SERVICES}.appointments_by_case"))


def _task_hooks() -> None:
    from omniguichet.appointments.services import booking

    booking.schedule_reminder.set(lazy_function("omniguichet.appointments.tasks.schedule_reminder"))


class AppointmentsConfig(AppConfig):
    name = "omniguichet.appointments"
    label = "appointments"

    def ready(self) -> None:
        # Each registration runs when the services it plugs into are imported, not at start-up (issue 15).
        when_imported("omniguichet.crm.services", _record_section)
        when_imported("omniguichet.documents.services", _deposit_purpose)
        when_imported("omniguichet.outreach.services", _email_attachments)
        when_imported(SERVICES, _forget_patterns_on_change)
        when_imported(SERVICES, _task_hooks)
        when_imported("omniguichet.cases.services", _case_appointments)

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker`: the periodic sweep of missed appointments."""
        from omniguichet.appointments.tasks import start_sweeping

        start_sweeping()
