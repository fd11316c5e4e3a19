from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "omniguichet.accounts"
    label = "accounts"
