from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "omniguichet.documents"
    label = "documents"

    def ready(self) -> None:
        from omniguichet.crm.services import register_record_section
        from omniguichet.documents import services

        register_record_section("recent_documents", services.recent_documents_section)
