"""Checkout, step 5: cancel an unpaid checkout (declined, abandoned): orders cancelled, stock and cart back."""

from __future__ import annotations

from collections import defaultdict
from functools import partial

from django.db import transaction
from django.utils import timezone

from cart.models import CartItem
from cart.services import reservation_deadline
from catalog.stock import lock_offerings, lock_products, restock_offerings
from etsy import outbox
from orders import events
from orders.models import Checkout, Order
from orders.services.checkout_outcome import UNSETTLED, _count_sales, _outbox_ids_for
from orders.services.checkout_placing import _send_products_changed


@transaction.atomic
def cancel_checkout(*, checkout_id, status: str, restore_cart: bool = False) -> bool:
    """Cancel an unsettled checkout: orders cancelled, stock and sales counts given back, once.

    With ``restore_cart`` the lines go back into the buyer's cart (unique items held again),
    so a declined buyer can retry with another card.
    """
    moved = Checkout.objects.filter(pk=checkout_id, payment_status__in=UNSETTLED).update(
        payment_status=status, updated_at=timezone.now()
    )
    if not moved:
        return False
    orders = list(
        Order.objects.locked()
        .filter(checkout_id=checkout_id, status=Order.Status.PENDING_PAYMENT)
        .prefetch_related("items")
        .order_by("pk")
    )
    _cancel_orders(orders=orders, restore_cart_for=orders[0].buyer_id if (orders and restore_cart) else None)
    return True


def _cancel_orders(*, orders: list[Order], restore_cart_for: int | None) -> None:
    """Cancel locked orders and give their stock back (caller holds the order locks in a transaction).

    Paid orders also get a refund, promised through the outbox (the provider is called after commit).
    """
    if not orders:
        return
    quantities: dict[int, int] = defaultdict(int)  # per offering
    product_ids: set[int] = set()
    restore: dict[tuple[int, int, str], int] = defaultdict(int)  # (listing, offering, text) -> units
    sold_by_shop: dict[int, int] = defaultdict(int)
    for order in orders:
        for item in order.items.all():
            if item.product_id is not None and item.offering_id is not None:
                quantities[item.offering_id] += item.quantity
                product_ids.add(item.product_id)
                restore[(item.product_id, item.offering_id, item.personalization)] += item.quantity
            if order.status == Order.Status.PAID:  # only paid orders were counted as sales
                sold_by_shop[order.shop_id] += item.quantity
    products = lock_products(product_ids=product_ids)  # catalog.stock's order: listings, then offerings
    offerings = lock_offerings(offering_ids=quantities)
    _count_sales(sold_by_shop, sign=-1)  # shops before stock (no deadlock with checkouts)
    restock_offerings(quantities=quantities)
    now = timezone.now()
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        status=Order.Status.CANCELLED, cancelled_at=now, updated_at=now
    )
    if restore_cart_for is not None:
        for (product_id, offering_id, text), units in sorted(restore.items()):
            if product_id not in products or offering_id not in offerings:
                continue
            restocked = offerings[offering_id].quantity + quantities[offering_id]
            CartItem.objects.update_or_create(
                user_id=restore_cart_for,
                offering_id=offering_id,
                personalization=text,
                defaults={
                    "product_id": product_id,
                    "quantity": units,
                    "reserved_until": reservation_deadline(now=now) if restocked == 1 else None,
                },
            )
    refunds = outbox.publish_many(
        topic=events.TOPIC_ORDER_REFUND,
        payloads=({"order_id": o.pk} for o in orders if o.status == Order.Status.PAID),
        relay=False,
        relayed_later=True,
    )
    topics = {pk: events.TOPIC_ORDER_PLACED for pk in _outbox_ids_for([o.pk for o in orders])}
    topics |= {r.pk: r.topic for r in refunds}
    outbox.relay_on_commit(topics, topics=topics)
    listings = {pk: (product.category_id, product.shop_id) for pk, product in products.items()}  # locked till commit
    transaction.on_commit(partial(_send_products_changed, sorted(product_ids), listings))
