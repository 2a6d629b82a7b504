"""Checkout, step 5: a succeeded charge marks the checkout and its orders paid; the bookkeeping it shares
with a cancellation (shops' sales counts, the orders' outbox rows)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils import timezone

from etsy import cache, outbox
from etsy.outbox import selectors as outbox_selectors
from etsy.prepared import prepared_cursor
from orders import events
from orders.models import Checkout, Order, OrderItem
from shops import services as shop_services

PaymentStatus = Checkout.PaymentStatus
UNSETTLED = [PaymentStatus.PENDING, PaymentStatus.UNKNOWN, PaymentStatus.REQUIRES_ACTION]


def _outbox_ids_for(order_ids: list[int]) -> list[int]:
    return outbox_selectors.list_pending_message_ids(
        topic=events.TOPIC_ORDER_PLACED, payload_key="order_id", values=order_ids
    )


@dataclass(frozen=True)
class _LockedOrder:
    pk: int
    shop_id: int
    status: str  # as locked, before this payment moved it
    refund_when_charged: bool
    paid_now: bool
    units: int | None


# The checkout moves to paid once, from any unsettled status (no row: this call did not move it), then its orders
# are locked in id order (as a seller's cancel locks one; FOR NO KEY UPDATE, as every order lock, so the deferred
# foreign-key checks of rows referencing them never wait) and the pending ones paid, in one statement: the lock
# returns each row's latest version and the UPDATE re-checks it, so an order cancelled meanwhile stays
# cancelled. Each comes with its units, which the shops' sales counts move by.
_PAY_CHECKOUT_SQL = f"""
    WITH moved AS (
        UPDATE {Checkout._meta.db_table} SET payment_status = %s, provider_charge_id = %s, updated_at = %s
         WHERE id = %s AND payment_status = ANY(%s::text[])
        RETURNING id
    ), locked AS (
        SELECT o.id, o.shop_id, o.status, o.refund_when_charged FROM {Order._meta.db_table} AS o
         WHERE o.checkout_id IN (SELECT id FROM moved) ORDER BY o.id FOR NO KEY UPDATE OF o
    ), paid AS (
        UPDATE {Order._meta.db_table} AS o SET status = %s, paid_at = %s, updated_at = %s
          FROM locked
         WHERE o.id = locked.id AND locked.status = %s AND o.status = %s
        RETURNING o.id
    )
    SELECT l.id, l.shop_id, l.status, l.refund_when_charged, p.id IS NOT NULL,
           (SELECT sum(i.quantity) FROM {OrderItem._meta.db_table} AS i WHERE i.order_id = l.id)
      FROM moved AS m LEFT JOIN (locked AS l LEFT JOIN paid AS p ON p.id = l.id) ON TRUE
     ORDER BY l.id
"""


def _pay_checkout(*, checkout_id, charge_id: str) -> list[_LockedOrder] | None:
    """Mark an unsettled checkout paid, lock its orders in id order and mark the ones awaiting payment paid; return
    them as locked, or None when the checkout was not unsettled."""
    now = timezone.now()
    pending, paid = str(Order.Status.PENDING_PAYMENT), str(Order.Status.PAID)
    params = [str(PaymentStatus.PAID), charge_id, now, Checkout._meta.pk.to_python(checkout_id)]
    params += [[str(status) for status in UNSETTLED], paid, now, now, pending, pending]
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_PAY_CHECKOUT_SQL, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    return [_LockedOrder(*row) for row in rows if row[0] is not None]


@transaction.atomic
def mark_checkout_paid(*, checkout_id, charge_id: str, placed_messages: dict[int, int] | None = None) -> bool:
    """Mark an unsettled checkout and its orders paid (once); notify sellers and confirm to the buyer after
    commit (outbox rows written in this transaction: sent once the payment is recorded, even after a crash).

    ``placed_messages``: the orders' ``order.placed`` rows (``{order id: row id}``) when the caller created
    them (the checkout request); otherwise they are looked up.

    Orders cancelled while the charge was pending (``refund_when_charged``) are refunded in full
    through the outbox (payments books the sale and its refund, so the ledger balances to the cent).
    """
    orders = _pay_checkout(checkout_id=checkout_id, charge_id=charge_id)
    if orders is None:
        return False
    order_ids = [o.pk for o in orders if o.paid_now]
    # Cancelled while this charge was pending: the buyer paid for them after all, so refund them now.
    refunds = outbox.publish_many(
        topic=events.TOPIC_ORDER_REFUND,
        payloads=({"order_id": o.pk} for o in orders if o.status == Order.Status.CANCELLED and o.refund_when_charged),
        relay=False,
        relayed_later=True,
    )
    units_by_shop: dict[int, int] = defaultdict(int)
    for order in orders:
        if order.pk in order_ids:
            units_by_shop[order.shop_id] += order.units or 0
    _count_sales(units_by_shop, sign=1)
    paid, confirmation = outbox.publish_each(
        messages=[
            (events.TOPIC_CHECKOUT_PAID, {"checkout_id": str(checkout_id)}),
            (events.TOPIC_CHECKOUT_CONFIRMATION, {"checkout_id": str(checkout_id)}),
        ],
        relay=False,
        relayed_later=True,
    )
    if placed_messages is None:
        placed_ids = _outbox_ids_for(order_ids)
    else:  # rows of orders cancelled meanwhile were relayed by their cancellation
        placed_ids = [placed_messages[pk] for pk in order_ids if pk in placed_messages]
    # To their queue's drain after commit (the rows were written as handed over): appended with the commit's other
    # Redis writes, a drain task published only when none is pending, which runs the rows of every checkout paid
    # meanwhile together.
    topics = {pk: events.TOPIC_ORDER_PLACED for pk in placed_ids} | {
        m.pk: m.topic for m in (paid, confirmation, *refunds)
    }
    outbox.relay_on_commit(topics, topics=topics, coalesce=True)
    return True


def _count_sales(units_by_shop: dict[int, int], *, sign: int) -> None:
    """Move the shops' sales counts (units in paid, shipped and delivered orders) and announce it after commit.

    One statement for every shop, its rows locked in id order: a shop's update re-syncs its search rows
    (trigger), so one order keeps parallel payments and cancellations from deadlocking there.
    """
    moved = sorted(shop_id for shop_id, units in units_by_shop.items() if units)
    shop_services.add_sales_by_shop(units_by_shop={shop_id: sign * units_by_shop[shop_id] for shop_id in moved})
    if moved:
        transaction.on_commit(partial(_drop_shop_figures, moved))


def _drop_shop_figures(shop_ids: list[int]) -> None:
    """Drop the cached copies that show these shops' sales counts (cards, pages, product pages).

    Narrower than ``shops.signals.shop_changed`` (which also drops every listing card and the search
    results): a sale changes one number, and it is shown at once rather than after the caches expire.
    Two round trips: the shops' pages' sets read, then the cards, pages and sets deleted and the generations moved.
    """
    cache.invalidate(
        keys=[cache.shop_key(shop_id) for shop_id in shop_ids],
        sets=[cache.shop_pages_key(shop_id) for shop_id in shop_ids],
        generations=[cache.shop_products_gen_key(shop_id) for shop_id in shop_ids],
    )
