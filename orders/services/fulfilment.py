"""Order status changes after payment: shipping, delivery, cancellation.

    pending_payment --paid--> paid --mark_shipped--> shipped --mark_delivered--> delivered
    pending_payment | paid --cancel_order--> cancelled

Each is idempotent (repeating it changes nothing and emails no one twice) and refuses any other
start with a domain error whose code names the state (``order_not_shipped``, ``order_already_shipped``...).
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from etsy import outbox
from orders import delivery, events
from orders.exceptions import (
    CancellationPending,
    InvalidOrderTransition,
    OrderAlreadyShipped,
    OrderCancelled,
    OrderNotShipped,
)
from orders.models import CancellationRequest, Order

logger = logging.getLogger(__name__)
OVERDUE_BATCH = 500


def _locked(order: Order) -> Order:
    return Order.objects.locked(of=("self",)).select_related("shop", "checkout").get(pk=order.pk)


def _pending_cancellation(order: Order) -> bool:
    return CancellationRequest.objects.filter(order_id=order.pk, status=CancellationRequest.Status.PENDING).exists()


@transaction.atomic
def mark_shipped(*, order: Order, tracking_number: str) -> Order:
    """Mark a paid order shipped; email the buyer through the outbox after commit.

    Repeating with the same tracking number is a no-op. Raises InvalidOrderTransition,
    CancellationPending (the buyer asked to cancel: the seller decides first).
    """
    tracking_number = (tracking_number or "").strip()
    if not tracking_number or len(tracking_number) > 100:
        raise InvalidOrderTransition("Enter a tracking number (at most 100 characters).", code="invalid_tracking")
    locked = _locked(order)
    if locked.status == Order.Status.SHIPPED and locked.tracking_number == tracking_number:
        return locked
    if not locked.can_be_shipped:
        raise InvalidOrderTransition(f"A {locked.get_status_display().lower()} order cannot be shipped.")
    if _pending_cancellation(locked):
        raise CancellationPending()
    now = timezone.now()
    locked.status, locked.tracking_number, locked.shipped_at = Order.Status.SHIPPED, tracking_number, now
    locked.estimated_delivery = delivery.estimate_when_shipped(
        shipped_on=timezone.localdate(now),
        international=delivery.is_international(
            shop_country=locked.shop.country, ship_country=locked.checkout.ship_country
        ),
    )
    locked.save(update_fields=["status", "tracking_number", "shipped_at", "estimated_delivery", "updated_at"])
    outbox.publish(topic=events.TOPIC_ORDER_SHIPPED, payload={"order_id": locked.pk})
    return locked


@transaction.atomic
def mark_delivered(*, order: Order, via: str) -> Order:
    """Mark a shipped order delivered and email the buyer (with a review invitation) after commit.

    ``via``: Order.DeliveredVia (buyer, carrier, auto). Idempotent: a delivered order is returned
    unchanged and nobody is emailed again. Raises OrderNotShipped, OrderCancelled.
    """
    locked = _locked(order)
    if locked.status == Order.Status.DELIVERED:
        return locked
    if locked.status == Order.Status.CANCELLED:
        raise OrderCancelled()
    if locked.status != Order.Status.SHIPPED:
        raise OrderNotShipped()
    locked.status, locked.delivered_at, locked.delivered_via = Order.Status.DELIVERED, timezone.now(), via
    locked.save(update_fields=["status", "delivered_at", "delivered_via", "updated_at"])
    outbox.publish(topic=events.TOPIC_ORDER_DELIVERED, payload={"order_id": locked.pk})
    return locked


def confirm_received(*, buyer, order_id: int) -> Order:
    """The buyer says the parcel arrived. Raises OrderNotFound (missing or not theirs), OrderNotShipped."""
    from orders.selectors import get_order_for_buyer

    order = get_order_for_buyer(buyer=buyer, order_id=order_id)
    return mark_delivered(order=order, via=Order.DeliveredVia.BUYER)


def list_overdue_order_ids(*, today: datetime.date, limit: int = OVERDUE_BATCH) -> list[int]:
    """Shipped orders whose estimated delivery is AUTO_DELIVER_AFTER_DAYS or more in the past."""
    cutoff = today - datetime.timedelta(days=settings.AUTO_DELIVER_AFTER_DAYS)
    return list(
        Order.objects.filter(status=Order.Status.SHIPPED, estimated_delivery__lte=cutoff)
        .order_by("estimated_delivery", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def mark_overdue_deliveries(*, today: datetime.date | None = None) -> int:
    """Take overdue shipped orders as delivered (each in its own transaction); return how many moved."""
    moved = 0
    for order_id in list_overdue_order_ids(today=today or timezone.localdate()):
        try:
            mark_delivered(order=Order(pk=order_id), via=Order.DeliveredVia.AUTO)
            moved += 1
        except InvalidOrderTransition:  # cancelled or changed meanwhile: nothing to do
            continue
    return moved


@transaction.atomic
def cancel_order(*, order: Order) -> Order:
    """Cancel an order not yet shipped and give its stock back exactly once (idempotent); email the buyer.

    Raises OrderAlreadyShipped for shipped or delivered orders. A paid order is refunded at the
    provider after commit (outbox, idempotent per order). An order still awaiting payment is marked
    ``refund_when_charged``: if its checkout's charge succeeds later, its share is refunded at once
    (orders.services.checkout.mark_checkout_paid). A pending buyer's request is accepted by it.
    """
    from orders.services.checkout import _cancel_orders

    # FOR NO KEY UPDATE, as every order lock: no key changes, and rows referencing the order (ledger entries, a
    # transfer) check it FOR KEY SHARE at their COMMIT. The payment's payout handler holds the shop's row until
    # then, and this cancel waits for that row (sales count): a FOR UPDATE here deadlocked the two.
    locked = Order.objects.locked().prefetch_related("items").get(pk=order.pk)
    if locked.status == Order.Status.CANCELLED:
        return locked
    if not locked.can_be_cancelled:
        raise OrderAlreadyShipped(f"A {locked.get_status_display().lower()} order cannot be cancelled.")
    awaiting_payment = locked.status == Order.Status.PENDING_PAYMENT
    _cancel_orders(orders=[locked], restore_cart_for=None)
    # The checkout stays as it is even when none of its orders is left: its charge may still succeed
    # at the provider, and the resolver (or webhook) must then see it to refund it.
    if awaiting_payment:
        Order.objects.filter(pk=locked.pk).update(refund_when_charged=True)
    locked.refresh_from_db()
    CancellationRequest.objects.filter(order_id=locked.pk, status=CancellationRequest.Status.PENDING).update(
        status=CancellationRequest.Status.ACCEPTED, decided_at=locked.cancelled_at
    )
    outbox.publish(topic=events.TOPIC_ORDER_CANCELLED, payload={"order_id": locked.pk})
    return locked
