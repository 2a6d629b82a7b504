"""Live stock as buyers see it: each listing's quantity with its latest live hold (holds are cart lines),
and the same per offering (stock, price, switch, options label and hold)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from catalog.models import Offering, Product, Variation, VariationOption
from catalog.selectors import Inventory, OfferingStock

# ``Offering.options_label`` in SQL ("Size: 7, Metal: Silver"): concat_ws skips the NULL of a missing option.
OPTIONS_LABEL_SQL = "concat_ws(', ', v1.name || ': ' || o1.value, v2.name || ': ' || o2.value)"


def fetch_inventories(product_ids: list[int]) -> dict[int, Inventory]:
    """Read stock and the latest live hold of each product and of each of its offerings in one statement
    (supplies catalog.extensions).

    Hand-written SQL: this read refreshes every product page's stock every 30 s, and the
    ORM spends four times longer building the two-subquery statement than PostgreSQL
    spends answering it (about 2 ms against 0.4 ms). One constant statement text also
    lets psycopg prepare it once per connection.
    """
    from cart.models import CartItem

    lines, offerings = CartItem._meta.db_table, Offering._meta.db_table
    options, variations = VariationOption._meta.db_table, Variation._meta.db_table
    sql = f"""
        SELECT p.id, p.quantity, hold.user_id, hold.reserved_until, offs.rows
          FROM {Product._meta.db_table} p
          LEFT JOIN LATERAL (
                SELECT c.user_id, c.reserved_until
                  FROM {lines} c
                 WHERE c.product_id = p.id AND c.reserved_until > %(now)s
                 ORDER BY c.reserved_until DESC
                 LIMIT 1
               ) hold ON TRUE
          LEFT JOIN LATERAL (
                SELECT json_agg(json_build_array(o.id, o.quantity, o.price::text, o.is_enabled,
                                                 {OPTIONS_LABEL_SQL}, o.sku, oh.user_id, oh.reserved_until)
                                ORDER BY o.id) AS rows
                  FROM {offerings} o
                  LEFT JOIN {options} o1 ON o1.id = o.option1_id
                  LEFT JOIN {variations} v1 ON v1.id = o1.variation_id
                  LEFT JOIN {options} o2 ON o2.id = o.option2_id
                  LEFT JOIN {variations} v2 ON v2.id = o2.variation_id
                  LEFT JOIN LATERAL (
                        SELECT c.user_id, c.reserved_until
                          FROM {lines} c
                         WHERE c.offering_id = o.id AND c.reserved_until > %(now)s
                         ORDER BY c.reserved_until DESC
                         LIMIT 1
                       ) oh ON TRUE
                 WHERE o.product_id = p.id
               ) offs ON TRUE
         WHERE p.id = ANY(%(ids)s)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": timezone.now(), "ids": list(product_ids)})
        found = {
            pk: Inventory(
                quantity=qty, reserved_by_user_id=user, reserved_until=until, offerings=_offering_stocks(rows)
            )
            for pk, qty, user, until, rows in cursor.fetchall()
        }
    return {pk: found.get(pk, Inventory(quantity=0)) for pk in product_ids}


def _offering_stocks(rows) -> dict[int, OfferingStock]:
    if isinstance(rows, str):
        rows = json.loads(rows)
    stocks = {}
    for pk, quantity, price, enabled, label, sku, user_id, until in rows or []:
        stocks[pk] = OfferingStock(
            id=pk,
            quantity=quantity,
            price=Decimal(price),
            is_enabled=enabled,
            label=label or "",
            sku=sku or "",
            reserved_by_user_id=user_id,
            reserved_until=datetime.fromisoformat(until) if until else None,
        )
    return stocks
