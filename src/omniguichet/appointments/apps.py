from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "omniguichet.appointments"
    label = "appointments"

    def ready(self) -> None:
        from omniguichet.appointments.services import next_appointments_section
        from omniguichet.crm.services import register_record_section

        register_record_section("next_appointments", next_appointments_section)
