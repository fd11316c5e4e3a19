from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "omniguichet.cases"
    label = "cases"

    def ready(self) -> None:
        from omniguichet.cases.services import open_cases_section
        from omniguichet.crm.services import register_record_section

        register_record_section("open_cases", open_cases_section)

        from omniguichet.cases.services import register_case_deposits

        register_case_deposits()
