from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _retention() -> None:
    # A month of contacts that leaves (core.retention) first clears the contact of its calls.
    from omniguichet.core import retention

    retention.register_before_drop(
        "crm_contact", lazy_function("omniguichet.telephony.services.retention.forget_call_contacts")
    )


class TelephonyConfig(AppConfig):
    name = "omniguichet.telephony"
    label = "telephony"

    def ready(self) -> None:
        when_imported("omniguichet.core.retention", _retention)

    def on_worker_start(self) -> None:
        from omniguichet.telephony.tasks import start_calls_retention

        start_calls_retention()
