from django.apps import AppConfig


class TeleservicesConfig(AppConfig):
    name = "omniguichet.teleservices"
    label = "teleservices"
