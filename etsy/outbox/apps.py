from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "etsy.outbox"
    label = "outbox"
    verbose_name = "Outbox"
