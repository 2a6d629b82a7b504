"""Refund rule errors. ``status_code`` is a hint for HTTP adapters only."""

from etsy.exceptions import DomainError


class RefundTooLarge(DomainError):
    """The amount is above what remains of the order's payment (or not positive). ``extra["remaining"]``."""

    code = "refund_too_large"
    status_code = 400
    default_message = "A refund can be at most what the buyer paid and has not had back yet."


class OrderNotRefundable(DomainError):
    code = "order_not_refundable"
    default_message = "Only a paid order can be refunded."
