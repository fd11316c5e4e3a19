from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "omniguichet.demo"
    label = "demo"
