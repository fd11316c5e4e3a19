from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "omniguichet.analytics"
    label = "analytics"
