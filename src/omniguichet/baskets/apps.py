from django.apps import AppConfig


class BasketsConfig(AppConfig):
    name = "omniguichet.baskets"
    label = "baskets"
