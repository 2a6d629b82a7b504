"""Orders' outbox topics and their handlers (registered with ``etsy.outbox`` in ``OrdersConfig.ready``).

Each handler gets the row's payload, runs inside the transaction holding the row's lock and
returns DONE or DEFER; raising rolls it back and counts as a failed attempt (see etsy.outbox).
"""

from __future__ import annotations

import logging

from etsy.emails import send_templated_email
from etsy.outbox import DEFER, DONE
from orders.models import Order

logger = logging.getLogger(__name__)

TOPIC_ORDER_PLACED = "order.placed"  # email the shop owner once the order is paid
TOPIC_ORDER_SHIPPED = "order.shipped"  # email the buyer the tracking number
# Give a cancelled paid order's money back: handled by the payments app (refund, fee refund and transfer
# reversal go through the shop's ledger), which registers the handler; orders only publishes it.
TOPIC_ORDER_REFUND = "order.refund"
# A checkout was paid: the payments app (above orders) registers the handler that records the sales in
# the shops' ledgers and transfers each order's net to its shop. Orders only publishes it.
TOPIC_CHECKOUT_PAID = "checkout.paid"


def _load_order(order_id: int) -> Order | None:
    return (
        Order.objects.select_related("shop__owner", "buyer", "checkout")
        .prefetch_related("items")
        .filter(pk=order_id)
        .first()
    )


def notify_seller_of_order(payload: dict) -> str:
    """Email the shop owner about a paid order; drop cancelled ones; wait while payment is pending."""
    order = _load_order(payload["order_id"])
    if order is None or order.status == Order.Status.CANCELLED:
        return DONE
    if order.status == Order.Status.PENDING_PAYMENT:
        return DEFER
    send_templated_email(
        template="order_new_seller",
        to=[order.shop.owner.email],
        context={"order": order, "shop": order.shop, "items": list(order.items.all()), "checkout": order.checkout},
    )
    logger.info("seller notified of order", extra={"order_id": order.pk, "shop_id": order.shop_id})
    return DONE


def notify_buyer_of_shipment(payload: dict) -> str:
    """Email the buyer the tracking number of a shipped order."""
    order = _load_order(payload["order_id"])
    if order is None:
        return DONE
    send_templated_email(
        template="order_shipped_buyer",
        to=[order.buyer.email],
        context={"order": order, "shop": order.shop, "items": list(order.items.all())},
    )
    return DONE


HANDLERS = {
    TOPIC_ORDER_PLACED: notify_seller_of_order,
    TOPIC_ORDER_SHIPPED: notify_buyer_of_shipment,
}
