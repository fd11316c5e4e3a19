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


def _case_messages() -> None:
    # The messages case events trigger, written in the ledger inside the ingestion transaction.
    from omniguichet.cases.services import register_event_handler

    register_event_handler(lazy_function(f"{SERVICES}.messages.on_case_events"))


def _document_reminders() -> None:
    from omniguichet.outreach.services import register_periodic_job

    register_periodic_job(lazy_function(f"{SERVICES}.messages.send_document_reminders"))


class CasesConfig(AppConfig):
    name = "omniguichet.cases"
    label = "cases"

    def ready(self) -> None:
        # Each registration runs when the services it plugs into are imported, not at start-up (issue 15).
        when_imported("omniguichet.crm.services", _record_section)
        when_imported("omniguichet.documents.services", _case_deposits)
        when_imported(SERVICES, _case_messages)
        when_imported("omniguichet.outreach.services", _document_reminders)
        # The event kinds and variables the ledger's templates and rules are checked against (the admin needs
        # them without the services): plain data, registered now.
        from omniguichet.cases.message_kinds import CASE_VARIABLES, EVENT_VARIABLES
        from omniguichet.cases.models import CaseType
        from omniguichet.outreach.templating import EventKinds, register_event_kinds

        register_event_kinds(
            EventKinds(
                variables=EVENT_VARIABLES, common=CASE_VARIABLES, subject_types=frozenset(CaseType.values)
            )
        )
