from django.apps import AppConfig


class TeleservicesConfig(AppConfig):
    name = "omniguichet.teleservices"
    label = "teleservices"

    def ready(self) -> None:
        from omniguichet.accounts.services import register_inbox_provider
        from omniguichet.documents.services import register_deposit_purpose
        from omniguichet.teleservices.services import inbox_items, resolve_deposit_purpose

        register_inbox_provider(inbox_items)
        register_deposit_purpose("teleservice", resolve_deposit_purpose)
