from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from etsy import outbox
        from orders import events as order_events
        from payments import events

        outbox.register(order_events.TOPIC_CHECKOUT_PAID, events.pay_sellers)
