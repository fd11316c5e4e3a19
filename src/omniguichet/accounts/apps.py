from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _account_reach() -> None:
    # The ledger asks which persons have an active online account (the inbox, the app) through this registration.
    from omniguichet.outreach.services import register_account_provider

    register_account_provider(lazy_function("omniguichet.accounts.services.active_accounts"))


def _task_hooks() -> None:
    from omniguichet.accounts import services

    services._enqueue_redaction.set(lazy_function("omniguichet.accounts.tasks.enqueue_redaction"))


class AccountsConfig(AppConfig):
    name = "omniguichet.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Registered when the ledger's services are imported, not at start-up (issue 15).
        when_imported("omniguichet.outreach.services", _account_reach)
        when_imported("omniguichet.accounts.services", _task_hooks)
