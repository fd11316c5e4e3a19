from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "omniguichet.core"
    label = "core"
