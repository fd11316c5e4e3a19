from importlib import import_module

from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported

SERVICES = "omniguichet.teleservices.services"


def _inbox_provider() -> None:
    from omniguichet.accounts.services import register_inbox_provider

    register_inbox_provider(lazy_function(f"{SERVICES}.inbox_items"))


def _deposit_purpose() -> None:
    from omniguichet.documents.services import register_deposit_purpose

    register_deposit_purpose("teleservice", lazy_function(f"{SERVICES}.resolve_deposit_purpose"))


def _home_services() -> None:
    # The online services offered on the account's home page.
    from omniguichet.accounts.services import register_home_services

    register_home_services(lazy_function(f"{SERVICES}.offered_services"))


def _catalogue() -> None:
    # The online services of the catalogue register themselves with the engine, once the engine exists.
    import_module("omniguichet.teleservices.catalogue")


class TeleservicesConfig(AppConfig):
    name = "omniguichet.teleservices"
    label = "teleservices"

    def ready(self) -> None:
        # Each registration runs when the services it plugs into are imported, not at start-up (issue 15).
        when_imported(SERVICES, _catalogue)
        when_imported("omniguichet.accounts.services", _inbox_provider)
        when_imported("omniguichet.accounts.services", _home_services)
        when_imported("omniguichet.documents.services", _deposit_purpose)
