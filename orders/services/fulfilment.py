"""Order status changes after payment: shipping, delivery, cancellation."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from etsy import outbox
from orders import delivery, events
from orders.exceptions import InvalidOrderTransition
from orders.models import Checkout, Order


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("shop", "checkout").get(pk=order.pk)


@transaction.atomic
def mark_shipped(*, order: Order, tracking_number: str) -> Order:
    """Mark a paid order shipped; email the buyer through the outbox after commit.

    Repeating with the same tracking number is a no-op. Raises InvalidOrderTransition.
    """
    tracking_number = (tracking_number or "").strip()
    if not tracking_number or len(tracking_number) > 100:
        raise InvalidOrderTransition("Enter a tracking number (at most 100 characters).", code="invalid_tracking")
    locked = _locked(order)
    if locked.status == Order.Status.SHIPPED and locked.tracking_number == tracking_number:
        return locked
    if not locked.can_be_shipped:
        raise InvalidOrderTransition(f"A {locked.get_status_display().lower()} order cannot be shipped.")
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
def mark_delivered(*, order: Order) -> Order:
    """Mark a shipped order delivered (idempotent). Raises InvalidOrderTransition."""
    locked = _locked(order)
    if locked.status == Order.Status.DELIVERED:
        return locked
    if locked.status != Order.Status.SHIPPED:
        raise InvalidOrderTransition("Only a shipped order can be marked delivered.")
    locked.status, locked.delivered_at = Order.Status.DELIVERED, timezone.now()
    locked.save(update_fields=["status", "delivered_at", "updated_at"])
    return locked


@transaction.atomic
def cancel_order(*, order: Order) -> Order:
    """Cancel an order not yet shipped and give its stock back exactly once (idempotent).

    Raises InvalidOrderTransition for shipped or delivered orders. A paid order is
    refunded at the provider after commit (outbox, idempotent per order).
    """
    from orders.services.checkout import _cancel_orders

    locked = Order.objects.select_for_update().prefetch_related("items").get(pk=order.pk)
    if locked.status == Order.Status.CANCELLED:
        return locked
    if not locked.can_be_cancelled:
        raise InvalidOrderTransition(f"A {locked.get_status_display().lower()} order cannot be cancelled.")
    _cancel_orders(orders=[locked], restore_cart_for=None)
    siblings_open = Order.objects.filter(checkout_id=locked.checkout_id).exclude(status=Order.Status.CANCELLED)
    if not siblings_open.exists():
        Checkout.objects.filter(
            pk=locked.checkout_id, payment_status__in=[Checkout.PaymentStatus.PENDING, Checkout.PaymentStatus.UNKNOWN]
        ).update(payment_status=Checkout.PaymentStatus.CANCELLED)
    locked.refresh_from_db()
    return locked
