"""Stock rows: the one place that locks products and moves their quantity.

Every writer locks product rows through ``lock_products`` so locks are always
taken in primary-key order: two checkouts with overlapping carts then queue
behind each other instead of deadlocking. ``FOR NO KEY UPDATE`` still lets
other transactions insert rows that merely reference a product (cart lines,
order items) without waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection
from django.db.models import F

from catalog.models import Offering, Product


def set_lock_timeout(milliseconds: int) -> None:
    """Bound how long this transaction waits for a row lock (SET LOCAL: ends with the transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(milliseconds)}ms"])


def lock_products(*, product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the given product rows in id order and return them by id. Must run inside a transaction."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = Product.objects.select_for_update(no_key=True, of=("self",)).select_related("shop").filter(pk__in=ids)
    return {product.pk: product for product in rows.order_by("pk")}


_DECREMENT_SQL = f"""
    UPDATE {Product._meta.db_table} AS p
       SET quantity = p.quantity - taken.quantity
      FROM unnest(%s::bigint[], %s::integer[]) AS taken(id, quantity)
     WHERE p.id = taken.id AND p.quantity >= taken.quantity
 RETURNING p.id
"""


def decrement_stocks(*, quantities: Mapping[int, int]) -> list[int]:
    """Take each product's units if and only if they are all there, in one statement; return the ids that
    were short (nothing taken from those rows). Lock the rows first (``lock_products``): the caller rolls
    back when any is short, so a checkout takes all of its units or none."""
    ids = sorted(quantities)
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_DECREMENT_SQL, [ids, [int(quantities[pk]) for pk in ids]])
        taken = {row[0] for row in cursor.fetchall()}
    return [pk for pk in ids if pk not in taken]


def restock(*, quantities: Mapping[int, int]) -> None:
    """Give units back, in id order (rows should already be locked through ``lock_products``)."""
    for product_id in sorted(quantities):
        Product.objects.filter(pk=product_id).update(quantity=F("quantity") + quantities[product_id])


_REFRESH_TOTALS_SQL = f"""
    UPDATE {Product._meta.db_table} AS p
       SET price = totals.price, quantity = totals.quantity, has_price_range = totals.has_price_range
      FROM (SELECT product_id,
                   COALESCE(MIN(price) FILTER (WHERE is_enabled AND quantity > 0),
                            MIN(price) FILTER (WHERE is_enabled), MIN(price)) AS price,
                   COALESCE(SUM(quantity) FILTER (WHERE is_enabled), 0) AS quantity,
                   COALESCE(MIN(price) FILTER (WHERE is_enabled) <> MAX(price) FILTER (WHERE is_enabled),
                            FALSE) AS has_price_range
              FROM {Offering._meta.db_table}
             WHERE product_id = ANY(%s)
             GROUP BY product_id) AS totals
     WHERE p.id = totals.product_id
       AND (p.price, p.quantity, p.has_price_range)
           IS DISTINCT FROM (totals.price, totals.quantity, totals.has_price_range)
"""


def refresh_listing_totals(*, product_ids: Iterable[int]) -> None:
    """Recompute each listing's totals from its offerings: ``quantity`` the sum over switched-on offerings,
    ``price`` the lowest switched-on price in stock (the cards' "from $X"), else the lowest switched-on one,
    ``has_price_range`` whether the switched-on offerings differ in price (whatever their stock: a card's "from"
    does not come and go with sales).

    Call it in the transaction that changed the offerings, after locking the listings (``lock_products``).
    """
    ids = sorted(set(product_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(_REFRESH_TOTALS_SQL, [ids])


_CREATE_IMPLICIT_SQL = f"""
    INSERT INTO {Offering._meta.db_table} (product_id, price, quantity, sku, is_enabled)
    SELECT p.id, p.price, p.quantity, '', TRUE
      FROM {Product._meta.db_table} AS p
     WHERE p.id = ANY(%s)
       AND NOT EXISTS (SELECT 1 FROM {Offering._meta.db_table} AS o WHERE o.product_id = p.id)
     ORDER BY p.id
"""


def create_implicit_offerings(*, product_ids: Iterable[int]) -> None:
    """Give each listing that has no offering yet its one implicit offering, at the listing's own price and
    quantity (bulk loaders and imports that insert listings call this in the same transaction)."""
    ids = sorted(set(product_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(_CREATE_IMPLICIT_SQL, [ids])
