from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from etsy import outbox
        from orders import events as order_events
        from payments import checks, events  # noqa: F401  (checks: registered on import)
        from payments.services import refunds

        outbox.register(order_events.TOPIC_CHECKOUT_PAID, events.pay_sellers)
        outbox.register(refunds.TOPIC_REFUND_ISSUED, events.carry_out_refund)
        # A cancelled paid order's money goes back through the ledger (refund, fee refund, transfer reversal).
        outbox.register(order_events.TOPIC_ORDER_REFUND, events.refund_cancelled_order)
