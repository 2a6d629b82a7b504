from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        from etsy import outbox
        from orders import events

        for topic, handler in events.HANDLERS.items():
            outbox.register(topic, handler)
