from django.apps import AppConfig


class ReceptionConfig(AppConfig):
    name = "omniguichet.reception"
    label = "reception"
