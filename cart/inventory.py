"""Live stock as buyers see it: each listing's quantity with its latest live hold (holds are cart lines)."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import Inventory


def fetch_inventories(product_ids: list[int]) -> dict[int, Inventory]:
    """Read stock and the latest live hold of each product in one statement (supplies catalog.extensions).

    Hand-written SQL: this read refreshes every product page's stock every 30 s, and the
    ORM spends four times longer building the two-subquery statement than PostgreSQL
    spends answering it (about 2 ms against 0.4 ms). One constant statement text also
    lets psycopg prepare it once per connection.
    """
    from cart.models import CartItem

    sql = f"""
        SELECT p.id, p.quantity, hold.user_id, hold.reserved_until
          FROM {Product._meta.db_table} p
          LEFT JOIN LATERAL (
                SELECT c.user_id, c.reserved_until
                  FROM {CartItem._meta.db_table} c
                 WHERE c.product_id = p.id AND c.reserved_until > %s
                 ORDER BY c.reserved_until DESC
                 LIMIT 1
               ) hold ON TRUE
         WHERE p.id = ANY(%s)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), list(product_ids)])
        found = {
            pk: Inventory(quantity=qty, reserved_by_user_id=user, reserved_until=until)
            for pk, qty, user, until in cursor.fetchall()
        }
    return {pk: found.get(pk, Inventory(quantity=0)) for pk in product_ids}
