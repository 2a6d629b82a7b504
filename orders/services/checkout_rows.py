"""Checkout, step 3's rows: the checkout, its orders (one per shop) and their lines, written in one statement."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from etsy.prepared import UnnestRows, prepared_cursor
from orders.models import Checkout, Order, OrderItem

if TYPE_CHECKING:
    from cart.models import CartItem
    from catalog.models import Product
    from orders.services.checkout_placing import ShippingAddress

# The checkout, its orders (one per shop) and their lines in one statement, hand-written and prepared: bulk_create
# took longer to prepare the rows' values than PostgreSQL to write them. Every column of each table
# (etsy.prepared.UnnestRows: a field added later is written with its default, as the ORM would); the orders take
# the checkout's id from its CTE and the lines their order's id by shop (one order per shop and checkout).
_CHECKOUT_FIELDS = tuple(Checkout._meta.concrete_fields)
# What differs between a checkout's orders: the shop and its sums (the buyer, status and timestamps are shared).
_ORDER_ROWS = UnnestRows(
    Order,
    given=("checkout_id",),
    varying=("shop_id", "subtotal", "shipping", "total", "transaction_fee", "processing_fee", "estimated_delivery"),
)
_ITEM_ROWS = UnnestRows(OrderItem, given=("order_id",))
_INSERT_CHECKOUT_SQL = f"""
    WITH checkout AS (
        INSERT INTO {Checkout._meta.db_table} ({", ".join(f'"{f.column}"' for f in _CHECKOUT_FIELDS)})
        VALUES ({", ".join(["%s"] * len(_CHECKOUT_FIELDS))})
        RETURNING id
    ), placed AS (
        INSERT INTO {Order._meta.db_table} (checkout_id, {_ORDER_ROWS.names})
        SELECT c.id, {_ORDER_ROWS.select("r")} FROM checkout AS c, {_ORDER_ROWS.source("r")} ORDER BY r.n
        RETURNING id, shop_id
    ), lines AS (
        INSERT INTO {OrderItem._meta.db_table} (order_id, {_ITEM_ROWS.names})
        SELECT o.id, {_ITEM_ROWS.select("r")}
          FROM unnest(%s::bigint[]) WITH ORDINALITY AS s(shop_id, n)
          JOIN {_ITEM_ROWS.source("r")} USING (n)
          JOIN placed AS o ON o.shop_id = s.shop_id
         ORDER BY r.n
    )
    SELECT id, shop_id FROM placed
"""


def insert_checkout(
    *, buyer_id: int, address: ShippingAddress, provider_key: str, total: Decimal, orders: list[dict], items: list[dict]
) -> tuple[Checkout, list[int]]:
    """Write the checkout, its ``orders`` (``{field: value}``, one per shop, in shop order) and their ``items``
    (each with its order's ``shop_id``); return the checkout as written and the orders' ids, in their order."""
    now = timezone.now()
    checkout = Checkout(
        buyer_id=buyer_id,
        total=total,
        payment_attempts=1,  # this request charges it next (_collect_payment counts a retry's attempt)
        provider_idempotency_key=provider_key,
        ship_name=address.name,
        ship_line1=address.line1,
        ship_line2=address.line2,
        ship_city=address.city,
        ship_region=address.region,
        ship_postcode=address.postcode,
        ship_country=address.country,
        created_at=now,
        updated_at=now,
    )
    params = [getattr(checkout, f.attname) for f in _CHECKOUT_FIELDS]
    params += _ORDER_ROWS.params(_ORDER_ROWS.arrays(orders, now=now))
    params += [[item["shop_id"] for item in items], *_ITEM_ROWS.params(_ITEM_ROWS.arrays(items, now=now))]
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_INSERT_CHECKOUT_SQL, params)
        by_shop = {shop_id: pk for pk, shop_id in cursor.fetchall()}
    checkout._state.adding, checkout._state.db = False, DEFAULT_DB_ALIAS
    return checkout, [by_shop[order["shop_id"]] for order in orders]


def order_line(*, shop_id: int, line: CartItem, product: Product) -> dict:
    """The order line of a cart line (``insert_checkout``'s ``items``), frozen at purchase: its listing's title, its
    offering's options, SKU and price (the offering as the locking read loaded it)."""
    offering = line.offering
    return {
        "shop_id": shop_id,
        "product_id": line.product_id,
        "offering_id": line.offering_id,
        "title_at_purchase": product.title,
        "options_at_purchase": offering.options_label,
        "sku_at_purchase": offering.sku,
        "personalization": line.personalization,
        "price_at_purchase": offering.price,
        "quantity": line.quantity,
    }
