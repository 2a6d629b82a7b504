"""Checkout, step 3: the placing transaction (locks, re-checks, orders, stock, outbox rows)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cart.exceptions import CartChanged, ItemReserved
from cart.models import CartItem
from cart.selectors import cart_version
from cart.services import remove_lines_by_id
from catalog.models import Offering, Variation, VariationOption
from catalog.signals import products_changed
from catalog.stock import attach_options, decrement_offerings, lock_products
from etsy import metrics, outbox
from etsy.names import is_country_code
from etsy.prepared import instances_from_row, prepared_cursor, select_list
from orders import delivery, events
from orders.exceptions import (
    CartEmpty,
    CartTotalChanged,
    InvalidAddress,
    ItemUnavailable,
)
from orders.fees import fees_for
from orders.models import Checkout, Order
from orders.services.checkout_rows import insert_checkout, order_line
from shops import services as shop_services


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postcode: str
    country: str = "US"
    line2: str = ""
    region: str = ""

    def validated(self) -> ShippingAddress:
        """Return a trimmed copy; raise InvalidAddress naming the missing or too long fields."""
        limits = {"name": 120, "line1": 200, "line2": 200, "city": 100, "region": 100, "postcode": 20, "country": 2}
        values = {f: str(getattr(self, f) or "").strip() for f in limits}
        values["country"] = values["country"].upper()
        errors = {}
        for field_name, limit in limits.items():
            if field_name not in ("line2", "region") and not values[field_name]:
                errors[field_name] = "This field is required."
            elif len(values[field_name]) > limit:
                errors[field_name] = f"At most {limit} characters."
        if values["country"] and not is_country_code(values["country"]):
            errors["country"] = "Use a two-letter country code."
        if errors:
            raise InvalidAddress(extra={"fields": errors})
        return ShippingAddress(**values)


def _conflict(exc):
    metrics.inventory_conflicts.inc()
    return exc


def _refuse_unbuyable_lines(*, buyer_id: int, lines: list[CartItem], products: dict, offerings: dict) -> None:
    """Raise ItemReserved or ItemUnavailable for the first kind of problem found among the lines.

    Per offering: another buyer's live hold on it (``line.held_until``: see ``_lock_cart_lines``), or the listing
    withdrawn, the offering switched off or deleted, or fewer units than the buyer's lines of it ask for (two
    engravings of one size add up). ItemUnavailable's ``extra["line_ids"]`` names the lines to take out of the
    cart.
    """
    held = {}
    for line in sorted(lines, key=lambda ln: ln.offering_id):
        if line.held_until is not None:
            held.setdefault(line.product_id, line.held_until)
    if held:
        product_id, until = next(iter(held.items()))
        raise _conflict(
            ItemReserved(
                extra={
                    "product_id": product_id,
                    "reserved_until": until.isoformat(),
                    "products": [{"id": pid, "title": products[pid].title} for pid in held],
                }
            )
        )
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        wanted[line.offering_id] += line.quantity
    gone = [
        line
        for line in lines
        if not products[line.product_id].is_listed_for(buyer_id)
        or _unsellable(offerings.get(line.offering_id), wanted[line.offering_id])
    ]
    if gone:
        raise _conflict(_unavailable(gone, products, offerings))


# The buyer's lines with their offerings, those offerings' options and properties (``options_label``), every
# column as ``select_related`` reads them, and the latest live hold of another buyer on each line's offering
# (``held_until``; None: nobody else holds it). The offerings are locked (their listings' locks, taken before,
# keep every other writer out already: catalog.stock's lock order).
_LINE_MODELS = (
    (CartItem, "c"),
    (Offering, "o"),
    (VariationOption, "o1"),
    (Variation, "v1"),
    (VariationOption, "o2"),
    (Variation, "v2"),
)
_LOCK_CART_LINES_SQL = f"""
    SELECT {select_list(_LINE_MODELS)},
           (SELECT h.reserved_until FROM {CartItem._meta.db_table} AS h
             WHERE h.offering_id = c.offering_id AND h.reserved_until > %s AND h.user_id <> %s
             ORDER BY h.reserved_until DESC LIMIT 1)
      FROM {CartItem._meta.db_table} AS c
      JOIN {Offering._meta.db_table} AS o ON o.id = c.offering_id
      LEFT JOIN {VariationOption._meta.db_table} AS o1 ON o1.id = o.option1_id
      LEFT JOIN {Variation._meta.db_table} AS v1 ON v1.id = o1.variation_id
      LEFT JOIN {VariationOption._meta.db_table} AS o2 ON o2.id = o.option2_id
      LEFT JOIN {Variation._meta.db_table} AS v2 ON v2.id = o2.variation_id
     WHERE c.user_id = %s
     ORDER BY c.product_id, c.offering_id, c.id
       FOR NO KEY UPDATE OF o
"""


def _lock_cart_lines(*, buyer_id: int, now) -> list[CartItem]:
    """Read the buyer's cart lines under the locks, each with its offering (locked, options loaded) and
    ``held_until``. Hand-written and prepared: the ORM took longer to build this read than PostgreSQL to run it."""
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_LOCK_CART_LINES_SQL, [now, buyer_id, buyer_id])
        rows = cursor.fetchall()
    lines = []
    for row in rows:
        (line, offering, *options), start = instances_from_row(row, _LINE_MODELS)
        attach_options(offering, *options)
        CartItem.offering.field.set_cached_value(line, offering)
        line.held_until = row[start]
        lines.append(line)
    return lines


def _unsellable(offering, wanted: int) -> bool:
    return offering is None or not offering.is_enabled or offering.quantity < wanted


def _unavailable(lines: list[CartItem], products: dict, offerings: dict) -> ItemUnavailable:
    """ItemUnavailable naming the listings (``products``: id, title, options) and the lines (``line_ids``)."""
    shown = {}
    for line in lines:
        offering = offerings.get(line.offering_id)
        shown.setdefault(
            (line.product_id, line.offering_id),
            {
                "id": line.product_id,
                "title": products[line.product_id].title,
                "offering_id": line.offering_id,
                "options": offering.options_label if offering is not None else "",
            },
        )
    return ItemUnavailable(extra={"products": list(shown.values()), "line_ids": [line.pk for line in lines]})


def _frozen_fees(subtotal: Decimal, shipping: Decimal) -> dict:
    fees = fees_for(subtotal=subtotal, shipping=shipping)
    return {"transaction_fee": fees.transaction_fee, "processing_fee": fees.processing_fee}


def _send_products_changed(product_ids: list[int], listings: dict[int, tuple[int, int]] | None = None) -> None:
    products_changed.send(sender=Order, product_ids=product_ids, reason="stock", listings=listings)


# The listings of the buyer's cart lines (a constant text: the ORM compiled this subquery on every checkout).
_CART_PRODUCT_IDS_SQL = f"SELECT product_id FROM {CartItem._meta.db_table} WHERE user_id = %s"


def _create_orders(
    *,
    buyer,
    address: ShippingAddress,
    provider_key: str,
    expected_total: Decimal | None = None,
    expected_version: str | None = None,
) -> tuple[Checkout, dict[int, int]]:
    """The locking transaction of step 3; return the checkout and its orders' ``order.placed`` outbox rows
    (``{order id: row id}``: relayed once paid).

    Raises CartEmpty, CartChanged, CartTotalChanged, ItemReserved, ItemUnavailable.
    """
    with transaction.atomic():
        # catalog.stock's lock order: the listings, then their offerings, each in id order. The listings are
        # those of the buyer's lines, found and locked in one statement (the cart is read once, below), which
        # bounds the transaction's lock waits first.
        products = lock_products(
            product_ids=RawSQL(_CART_PRODUCT_IDS_SQL, [buyer.pk]), lock_timeout_ms=settings.CHECKOUT_LOCK_TIMEOUT_MS
        )
        now = timezone.now()
        # Read under the locks: a parallel checkout of this buyer may have emptied the cart.
        # The lines come with their offerings, locked in the same statement (their listings' locks, taken
        # above, already keep every other writer of them out: catalog.stock's lock order), and with other
        # buyers' live holds on the same offerings.
        lines = _lock_cart_lines(buyer_id=buyer.pk, now=now)
        if not lines:
            raise CartEmpty()
        if any(line.product_id not in products for line in lines):
            raise CartChanged()
        offerings = {line.offering_id: line.offering for line in lines}
        _refuse_unbuyable_lines(buyer_id=buyer.pk, lines=lines, products=products, offerings=offerings)

        by_shop: dict[int, list[CartItem]] = defaultdict(list)
        for line in lines:
            by_shop[products[line.product_id].shop_id].append(line)
        shop_totals, estimates = {}, {}
        for shop_id, shop_lines in by_shop.items():
            shop = products[shop_lines[0].product_id].shop
            estimates[shop_id] = delivery.estimate_when_placed(
                placed_on=timezone.localdate(now),
                processing_days=shop.processing_days,
                international=delivery.is_international(shop_country=shop.country, ship_country=address.country),
            )
            subtotal = sum((offerings[ln.offering_id].price * ln.quantity for ln in shop_lines), Decimal("0.00"))
            shipping = shop.shipping_for(item_count=sum(ln.quantity for ln in shop_lines), subtotal=subtotal)
            shop_totals[shop_id] = (subtotal, shipping)
        total = sum((s + sh for s, sh in shop_totals.values()), Decimal("0.00"))
        # What the buyer saw is what is charged: another tab's change refuses this submit, under the locks.
        if expected_total is not None and expected_total != total:
            raise CartTotalChanged(extra={"expected_total": str(expected_total), "total": str(total)})
        if expected_version is not None:
            seen = [(ln.offering_id, ln.personalization, ln.quantity, offerings[ln.offering_id].price) for ln in lines]
            if expected_version != cart_version(seen, total):
                raise CartChanged(extra={"total": str(total)})

        checkout, order_ids = insert_checkout(
            buyer_id=buyer.pk,
            address=address,
            provider_key=provider_key,
            total=total,
            orders=[
                {
                    "buyer_id": buyer.pk,
                    "shop_id": shop_id,
                    "subtotal": shop_totals[shop_id][0],
                    "shipping": shop_totals[shop_id][1],
                    "total": sum(shop_totals[shop_id]),
                    "status": Order.Status.PENDING_PAYMENT,
                    "estimated_delivery": estimates[shop_id],
                    **_frozen_fees(*shop_totals[shop_id]),
                }
                for shop_id in sorted(by_shop)
            ],
            items=[
                order_line(shop_id=shop_id, line=line, product=products[line.product_id])
                for shop_id in sorted(by_shop)
                for line in by_shop[shop_id]
            ],
        )
        # Relayed once the payment outcome commits (mark_checkout_paid / _cancel_orders), not now.
        placed = outbox.publish_many(
            topic=events.TOPIC_ORDER_PLACED,
            payloads=({"order_id": order_id} for order_id in order_ids),
            relay=False,
            relayed_later=True,
        )

        # The shops' sales counts move when the payment succeeds (mark_checkout_paid): they count
        # units of paid, shipped and delivered orders, as the seller's dashboard does. Their rows are
        # still locked here, before the stock: a shop's update re-syncs all its search_listing rows
        # (trigger) and a stock update one of them, so both take the shop row first (in id order)
        # and a payment settling never deadlocks with a checkout of the same shop.
        shop_services.lock_shops(shop_ids=by_shop)
        # One conditional UPDATE for every line (rows already locked in id order); the rows it could not take
        # from come back, so nothing is sold short.
        # Per offering, with the listings' totals in the same statement.
        taking: dict[int, int] = defaultdict(int)
        for line in lines:
            taking[line.offering_id] += line.quantity
        short = set(decrement_offerings(quantities=taking))
        if short:
            raise _conflict(_unavailable([ln for ln in lines if ln.offering_id in short], products, offerings))
        remove_lines_by_id(user_id=buyer.pk, line_ids=[line.pk for line in lines], product_ids=sorted(products))
        # The listings' categories and shops as committed: their rows stay locked until then.
        listings = {pk: (product.category_id, product.shop_id) for pk, product in products.items()}
        transaction.on_commit(partial(_send_products_changed, sorted(products), listings))
    return checkout, {order_id: message.pk for order_id, message in zip(order_ids, placed, strict=True)}
