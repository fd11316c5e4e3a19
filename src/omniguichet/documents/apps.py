from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _record_section() -> None:
    from omniguichet.crm.services import register_record_section

    register_record_section(
        "recent_documents", lazy_function("omniguichet.documents.services.recent_documents_section")
    )


class DocumentsConfig(AppConfig):
    name = "omniguichet.documents"
    label = "documents"

    def ready(self) -> None:
        # Registered when the customer record's services are imported, not at start-up (issue 15).
        when_imported("omniguichet.crm.services", _record_section)
