from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "omniguichet.telephony"
    label = "telephony"
