from django.apps import AppConfig


class ReferentialConfig(AppConfig):
    name = "omniguichet.referential"
    label = "referential"
