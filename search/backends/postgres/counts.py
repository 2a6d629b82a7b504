"""Materialised per-category counts (``search_category_count``, migration 0010): browsing without words.

The triggers of ``search_listing`` append signed deltas per (category, vintage flag, whole-dollar
price); a browse sums the rows of its keys, so its total and facets cost a few thousand rows
whatever the catalog's size. ``compact_category_counts`` folds the deltas into one row per key.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connections, router

from catalog.models import Category

# Prices are counted by whole dollar up to this (dearer listings share its row): any range whose
# bounds are whole dollars up to it is answered exactly.
MAX_COUNTED_DOLLARS = 10_000

# One statement: rows deleted and re-inserted as their sums, so a reader's snapshot sees either
# the deltas or their sum, never both; deltas appended meanwhile are kept for the next run.
_COMPACT_SQL = """
WITH moved AS (DELETE FROM search_category_count RETURNING category_id, is_vintage, price_dollars, listings)
INSERT INTO search_category_count (category_id, is_vintage, price_dollars, listings)
SELECT category_id, is_vintage, price_dollars, sum(listings) FROM moved
 GROUP BY category_id, is_vintage, price_dollars
HAVING sum(listings) <> 0
"""


def compact_category_counts() -> int:
    """Fold the count deltas into one row per (category, vintage, dollar); return the rows left."""
    with connections[router.db_for_write(Category)].cursor() as cursor:
        cursor.execute(_COMPACT_SQL)
        return cursor.rowcount


def counts_price_bound(value: Decimal | None) -> bool:
    """Return whether a price bound can be answered from the counts (none, or a whole number of dollars in range)."""
    return value is None or (value == value.to_integral_value() and 0 <= value <= MAX_COUNTED_DOLLARS)


def browse_counts_sql(*, where: str, price_counts: list[str]) -> str:
    """The total, category facet and price facet of a browse, summed from the counts.

    ``where`` filters ``search_category_count c``; ``price_counts`` are conditions on
    ``price_dollars``, one per price range.
    """
    sums = ", ".join(f"coalesce(sum(n) FILTER (WHERE {cond}), 0)" for cond in price_counts)
    return f"""
WITH f AS (
    SELECT c.category_id, c.price_dollars, sum(c.listings) AS n
      FROM search_category_count c
     WHERE {where}
     GROUP BY c.category_id, c.price_dollars
    HAVING sum(c.listings) > 0
),
per_category AS (SELECT category_id, sum(n) AS n FROM f GROUP BY category_id)
SELECT
    (SELECT coalesce(sum(n), 0) FROM f),
    (SELECT coalesce(json_agg(json_build_array(c.slug, c.name, t.n) ORDER BY t.n DESC, c.name), '[]')
       FROM (SELECT category_id, n FROM per_category ORDER BY n DESC, category_id LIMIT %(facet_size)s) t
       JOIN catalog_category c ON c.id = t.category_id),
    (SELECT json_build_array({sums}) FROM f)
"""
