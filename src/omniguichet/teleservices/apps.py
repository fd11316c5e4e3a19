from django.apps import AppConfig


class TeleservicesConfig(AppConfig):
    name = "omniguichet.teleservices"
    label = "teleservices"

    def ready(self) -> None:
        from omniguichet.accounts.services import register_inbox_provider
        from omniguichet.teleservices.services import inbox_items

        register_inbox_provider(inbox_items)
