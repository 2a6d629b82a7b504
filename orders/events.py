"""Orders' outbox topics and their handlers (registered with ``etsy.outbox`` in ``OrdersConfig.ready``).

Each handler gets the row's payload, runs inside the transaction holding the row's lock and
returns DONE or DEFER; raising rolls it back and counts as a failed attempt (see etsy.outbox).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from etsy.emails import build_templated_email, send_emails, send_templated_email
from etsy.outbox import DEFER, DONE
from orders import selectors
from orders.models import CancellationRequest, Checkout, Order

logger = logging.getLogger(__name__)

TOPIC_ORDER_PLACED = "order.placed"  # email the shop owner once the order is paid
TOPIC_ORDER_SHIPPED = "order.shipped"  # email the buyer the tracking number
TOPIC_CHECKOUT_CONFIRMATION = "checkout.confirmation"  # email the buyer one confirmation per paid checkout
TOPIC_ORDER_DELIVERED = "order.delivered"  # email the buyer: delivered, and an invitation to review
TOPIC_ORDER_CANCELLED = "order.cancelled"  # email the buyer: cancelled, and what is refunded
TOPIC_CANCELLATION_REQUESTED = "order.cancellation_requested"  # email the shop owner the buyer's request
TOPIC_CANCELLATION_DECLINED = "order.cancellation_declined"  # email the buyer the seller's refusal
TOPIC_CANCELLATION_TIMED_OUT = "order.cancellation_timed_out"  # email the shop: its unanswered request was accepted
# Give a cancelled paid order's money back: handled by the payments app (refund, fee refund and transfer
# reversal go through the shop's ledger), which registers the handler; orders only publishes it.
TOPIC_ORDER_REFUND = "order.refund"
# A checkout was paid: the payments app (above orders) registers the handler that records the sales in
# the shops' ledgers and transfers each order's net to its shop. Orders only publishes it.
TOPIC_CHECKOUT_PAID = "checkout.paid"


def _load_order(order_id: int) -> Order | None:
    """The order with what its emails show (``selectors.list_orders_for_email``), or None."""
    return selectors.list_orders_for_email(order_ids=[order_id]).get(int(order_id))


def notify_seller_of_order(payload: dict) -> str:
    """Email the shop owner about a paid order; drop cancelled ones; wait while payment is pending."""
    return notify_sellers_of_orders([payload])[0]


def notify_sellers_of_orders(payloads: list[dict]) -> list[str]:
    """``notify_seller_of_order`` for several rows at once (a checkout's orders): the orders and their items
    read in one statement, the emails sent together (one look-up of undeliverable addresses)."""
    orders = selectors.list_orders_for_email(order_ids=[payload["order_id"] for payload in payloads])
    outcomes, mails, notified = [], [], []
    for payload in payloads:
        order = orders.get(payload["order_id"])
        if order is None or order.status == Order.Status.CANCELLED:
            outcomes.append(DONE)
        elif order.status == Order.Status.PENDING_PAYMENT:
            outcomes.append(DEFER)
        else:
            mails.append(
                build_templated_email(
                    template="order_new_seller",
                    to=[order.shop.owner.email],
                    context={
                        "order": order,
                        "shop": order.shop,
                        "items": list(order.items.all()),
                        "checkout": order.checkout,
                    },
                )
            )
            notified.append(order)
            outcomes.append(DONE)
    send_emails(mails)
    for order in notified:
        logger.info("seller notified of order", extra={"order_id": order.pk, "shop_id": order.shop_id})
    return outcomes


def notify_buyer_of_shipment(payload: dict) -> str:
    """Email the buyer the tracking number of a shipped order."""
    order = _load_order(payload["order_id"])
    if order is None:
        return DONE
    send_templated_email(
        template="order_shipped_buyer",
        to=[order.buyer.email],
        context={
            "order": order,
            "shop": order.shop,
            "items": list(order.items.all()),
            "tracking": order.tracking_link,
            "order_url": _order_url(order),
        },
    )
    return DONE


def _order_url(order: Order, anchor: str = "") -> str:
    return settings.SITE_URL + order.get_absolute_url() + anchor


def _email_buyer(template: str, order: Order, **context) -> None:
    send_templated_email(
        template=template,
        to=[order.buyer.email],
        context={"order": order, "shop": order.shop, "items": list(order.items.all()), "order_url": _order_url(order)}
        | context,
    )


def notify_buyer_of_delivery(payload: dict) -> str:
    """Email the buyer that the order is delivered, with a link to review it."""
    order = _load_order(payload["order_id"])
    if order is None or order.status != Order.Status.DELIVERED:
        return DONE
    window = order.review_window
    _email_buyer(
        "order_delivered_buyer",
        order,
        review_url=_order_url(order, "#review"),
        review_closes_on=window.closes_at.date() if window else None,
    )
    return DONE


def notify_buyer_of_cancellation(payload: dict) -> str:
    """Email the buyer that the order is cancelled and what comes back (all of it, when it was paid)."""
    order = _load_order(payload["order_id"])
    if order is None or order.status != Order.Status.CANCELLED:
        return DONE
    request = CancellationRequest.objects.filter(order_id=order.pk).first()
    _email_buyer(
        "order_cancelled_buyer",
        order,
        refund_amount=order.total if order.paid_at else None,
        requested=request is not None,
        timed_out=request is not None and request.accepted_on_timeout,
    )
    return DONE


def notify_buyer_of_declined_cancellation(payload: dict) -> str:
    order = _load_order(payload["order_id"])
    if order is None:
        return DONE
    _email_buyer("order_cancellation_declined_buyer", order)
    return DONE


def notify_seller_of_cancellation_request(payload: dict) -> str:
    """Email the shop owner the buyer's reason and where to decide (the admin's order page)."""
    order = _load_order(payload["order_id"])
    request = CancellationRequest.objects.filter(order_id=payload["order_id"]).first()
    if order is None or request is None or request.status != CancellationRequest.Status.PENDING:
        return DONE
    send_templated_email(
        template="order_cancellation_requested_seller",
        to=[order.shop.owner.email],
        context={
            "order": order,
            "shop": order.shop,
            "request": request,
            "admin_url": settings.SITE_URL + reverse("admin:orders_order_change", args=[order.pk]),
        },
    )
    return DONE


def notify_seller_of_cancellation_timeout(payload: dict) -> str:
    """Email the shop owner that the buyer's unanswered request was accepted for them (refunded, restocked)."""
    order = _load_order(payload["order_id"])
    if order is None or order.status != Order.Status.CANCELLED:
        return DONE
    send_templated_email(
        template="order_cancellation_timed_out_seller",
        to=[order.shop.owner.email],
        context={
            "order": order,
            "shop": order.shop,
            "hours": settings.CANCELLATION_RESPONSE_HOURS,
            "admin_url": settings.SITE_URL + reverse("admin:orders_order_change", args=[order.pk]),
        },
    )
    return DONE


def confirm_checkout_to_buyer(payload: dict) -> str:
    """Email the buyer one confirmation of a paid checkout: each shop's order, its items and totals, the
    shipping address (orders cancelled since are left out; nothing is sent when none is left)."""
    found = selectors.get_checkout_confirmation(checkout_id=payload["checkout_id"])
    if found is None:
        return DONE
    checkout, orders = found
    if checkout.payment_status != Checkout.PaymentStatus.PAID or not orders:
        return DONE
    context = {
        "buyer": checkout.buyer,
        "checkout": checkout,
        "orders": orders,
        "total": sum((order.total for order in orders), Decimal("0.00")),
        # Each order's page, reversed once for both parts (a reverse costs as much as rendering an order's lines).
        "order_urls": {order.pk: _order_url(order) for order in orders},
    }
    send_templated_email(template="checkout_confirmation_buyer", to=[checkout.buyer.email], context=context)
    logger.info("buyer sent the order confirmation", extra={"checkout_id": str(checkout.pk)})
    return DONE


HANDLERS = {
    TOPIC_CHECKOUT_CONFIRMATION: confirm_checkout_to_buyer,
    TOPIC_ORDER_PLACED: notify_seller_of_order,
    TOPIC_ORDER_SHIPPED: notify_buyer_of_shipment,
    TOPIC_ORDER_DELIVERED: notify_buyer_of_delivery,
    TOPIC_ORDER_CANCELLED: notify_buyer_of_cancellation,
    TOPIC_CANCELLATION_REQUESTED: notify_seller_of_cancellation_request,
    TOPIC_CANCELLATION_DECLINED: notify_buyer_of_declined_cancellation,
    TOPIC_CANCELLATION_TIMED_OUT: notify_seller_of_cancellation_timeout,
}
# Several rows of these topics in one task run together (etsy.outbox.registry.register's ``many``).
MANY_HANDLERS = {TOPIC_ORDER_PLACED: notify_sellers_of_orders}
