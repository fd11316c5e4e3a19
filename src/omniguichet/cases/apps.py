from django.apps import AppConfig

from omniguichet.core.apps import when_imported


def _record_section() -> None:
    from omniguichet.cases.services import open_cases_section
    from omniguichet.crm.services import register_record_section

    register_record_section("open_cases", open_cases_section)


def _case_deposits() -> None:
    from omniguichet.cases.services import register_case_deposits

    register_case_deposits()


class CasesConfig(AppConfig):
    name = "omniguichet.cases"
    label = "cases"

    def ready(self) -> None:
        # Each registration runs when the services it plugs into are imported, not at start-up (issue 15).
        when_imported("omniguichet.crm.services", _record_section)
        when_imported("omniguichet.documents.services", _case_deposits)
