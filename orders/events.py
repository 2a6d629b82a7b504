"""Orders' outbox topics and their handlers (registered with ``etsy.outbox`` in ``OrdersConfig.ready``).

Each handler gets the row's payload, runs inside the transaction holding the row's lock and
returns DONE or DEFER; raising rolls it back and counts as a failed attempt (see etsy.outbox).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from etsy.emails import send_templated_email
from etsy.outbox import DEFER, DONE
from orders.models import Checkout, Order

logger = logging.getLogger(__name__)

TOPIC_ORDER_PLACED = "order.placed"  # email the shop owner once the order is paid
TOPIC_ORDER_SHIPPED = "order.shipped"  # email the buyer the tracking number
TOPIC_CHECKOUT_CONFIRMATION = "checkout.confirmation"  # email the buyer one confirmation per paid checkout
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


def confirm_checkout_to_buyer(payload: dict) -> str:
    """Email the buyer one confirmation of a paid checkout: each shop's order, its items and totals, the
    shipping address (orders cancelled since are left out; nothing is sent when none is left)."""
    checkout = Checkout.objects.select_related("buyer").filter(pk=payload["checkout_id"]).first()
    if checkout is None or checkout.payment_status != Checkout.PaymentStatus.PAID:
        return DONE
    orders = list(
        checkout.orders.exclude(status__in=[Order.Status.CANCELLED, Order.Status.PENDING_PAYMENT])
        .select_related("shop")
        .prefetch_related("items")
        .order_by("shop__name", "pk")
    )
    if not orders:
        return DONE
    context = {
        "buyer": checkout.buyer,
        "checkout": checkout,
        "orders": orders,
        "total": sum((order.total for order in orders), Decimal("0.00")),
    }
    send_templated_email(template="checkout_confirmation_buyer", to=[checkout.buyer.email], context=context)
    logger.info("buyer sent the order confirmation", extra={"checkout_id": str(checkout.pk)})
    return DONE


HANDLERS = {
    TOPIC_CHECKOUT_CONFIRMATION: confirm_checkout_to_buyer,
    TOPIC_ORDER_PLACED: notify_seller_of_order,
    TOPIC_ORDER_SHIPPED: notify_buyer_of_shipment,
}
