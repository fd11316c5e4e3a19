from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "omniguichet.crm"
    label = "crm"
