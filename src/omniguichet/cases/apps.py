from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported

SERVICES = "omniguichet.cases.services"


def _record_section() -> None:
    from omniguichet.crm.services import register_record_section

    register_record_section("open_cases", lazy_function(f"{SERVICES}.open_cases_section"))


def _case_deposits() -> None:
    # The "case_request" deposit purpose: a document the back office asked for in a case.
    from omniguichet.documents.services import register_deposit_purpose

    register_deposit_purpose(
        "case_request",
        lazy_function(f"{SERVICES}.resolve_case_request"),
        lister=lazy_function(f"{SERVICES}.list_case_requests"),
        on_rejected=lazy_function(f"{SERVICES}.reopen_case_request"),
    )


class CasesConfig(AppConfig):
    name = "omniguichet.cases"
    label = "cases"

    def ready(self) -> None:
        # Each registration runs when the services it plugs into are imported, not at start-up (issue 15).
        when_imported("omniguichet.crm.services", _record_section)
        when_imported("omniguichet.documents.services", _case_deposits)
