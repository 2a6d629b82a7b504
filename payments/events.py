"""The payments app's outbox handlers (registered with ``etsy.outbox`` in ``PaymentsConfig.ready``)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from etsy.outbox import DONE
from payments.services import ledger, payouts, refunds


def pay_sellers(payload: dict) -> str:
    """A checkout was paid: ledger entries and one transfer per order (the outbox retries on errors)."""
    payouts.pay_sellers_for_checkout(checkout_id=payload["checkout_id"])
    return DONE


def carry_out_refund(payload: dict) -> str:
    """A refund was booked: refund the buyer, reverse the seller's share of the transfer, email the buyer."""
    refunds.carry_out_refund(
        order_id=payload["order_id"],
        number=payload["number"],
        amount=Decimal(payload["amount"]),
        fee_share=Decimal(payload["fee_share"]),
    )
    return DONE


def refund_cancelled_order(payload: dict) -> str:
    """A paid order was cancelled (and restocked by orders): refund what remains of it, through the ledger."""
    from orders.models import Order

    order = Order.objects.select_related("checkout").filter(pk=payload["order_id"]).first()
    if order is None:
        return DONE
    if order.refund_when_charged and order.checkout.payment_status == order.checkout.PaymentStatus.PAID:
        # Cancelled before its checkout's charge succeeded: the buyer was charged for it, so its sale is
        # booked (idempotent by key) and refunded in full below; never transferred (it is not a paid order).
        with transaction.atomic():
            ledger.record_sale(order=order)
    if not refunds.has_remaining(order=order):
        return DONE
    refunds.refund_order(order=order)
    return DONE
