from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "omniguichet.appointments"
    label = "appointments"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from omniguichet.appointments.models import AgentAvailability, AppointmentMotive, OpeningHours, Site
        from omniguichet.appointments.services import forget_weekly_patterns, next_appointments_section
        from omniguichet.crm.services import register_record_section

        register_record_section("next_appointments", next_appointments_section)
        # "Documents to bring or deposit beforehand": the person deposits the motive's documents for the
        # appointment (documents app, purpose kind "appointment").
        from omniguichet.appointments.services import list_deposit_purposes, resolve_deposit_purpose
        from omniguichet.documents.services import register_deposit_purpose

        register_deposit_purpose("appointment", resolve_deposit_purpose, lister=list_deposit_purposes)
        # The confirmation, reminder and cancellation e-mails carry the appointment's .ics.
        from omniguichet.appointments.services import ics_attachments
        from omniguichet.crm.models import SubjectKind
        from omniguichet.outreach.services import register_email_attachments

        register_email_attachments(SubjectKind.APPOINTMENT, ics_attachments)
        # The free-slot search caches the weekly pattern of the sites, the sites of a caisse and the motives; a
        # change drops them.
        for model in (Site, OpeningHours, AgentAvailability, AppointmentMotive):
            post_save.connect(
                forget_weekly_patterns, sender=model, dispatch_uid=f"forget-patterns-save-{model.__name__}"
            )
            post_delete.connect(
                forget_weekly_patterns, sender=model, dispatch_uid=f"forget-patterns-del-{model.__name__}"
            )

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker`: the periodic sweep of missed appointments."""
        from omniguichet.appointments.tasks import start_sweeping

        start_sweeping()
