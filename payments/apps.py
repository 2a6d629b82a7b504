from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from etsy import outbox
        from orders import events as order_events
        from orders import extensions as order_extensions
        from payments import checks, events, selectors  # noqa: F401  (checks: registered on import)
        from payments.services import refunds

        outbox.register(order_events.TOPIC_CHECKOUT_PAID, events.pay_sellers)
        outbox.register(refunds.TOPIC_REFUND_ISSUED, events.carry_out_refund)
        # A cancelled paid order's money goes back through the ledger (refund, fee refund, transfer reversal).
        outbox.register(order_events.TOPIC_ORDER_REFUND, events.refund_cancelled_order)
        # The order page says how much was refunded ("Cancelled — refunded $X.XX").
        order_extensions.get_refunded_amount.supply(selectors.get_refunded_amount)
        order_extensions.get_refunded_amounts.supply(selectors.get_refunded_amounts)
