"""Grow a loaded demo catalog to N times its size in SQL: the fast path to a 1M-listing benchmark catalog.

The demo generator writes listings one Python object at a time (about 17 minutes for 1M on a
quiet 2-core machine). ``replicate_catalog`` instead copies the listings already loaded, in
PostgreSQL, ``copies - 1`` more times. Each copy is a new listing with its own id and slug
(``<slug>-c<k>``), the same title, description, tags, category, price, stock and shop, and an age
moved by up to half a day either way, so the copies interleave with the originals in recency.
Each gets its implicit offering (``catalog.stock.create_implicit_offerings``) and its photo row;
the search copy (``search_listing``) is filled by its own trigger.

What differs from the generator's own 1M catalog: the same 100k titles each appear ten times
(the word and age distributions are the 100k catalog's; the generator's 1M has ten times as many
distinct titles), past orders, reviews and favorites are not copied, and the shops are the 100k
catalog's (300 shops of ten times as many listings).

The bulk-load practice applies: the listing's text vector is copied instead of recomputed (its
BEFORE trigger is switched off for the copy), and the GIN indexes of the two tables are dropped
before and rebuilt after, all in one transaction (a failure leaves the catalog as it was).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction

from catalog.models import Product, ProductImage
from catalog.stock import create_implicit_offerings
from search.backends.postgres import compact_category_counts

CHUNK = 10_000  # source listings per statement (each copied ``copies - 1`` times): one progress step

# Tables whose GIN indexes are rebuilt rather than maintained row by row during the copy.
_REBUILT_TABLES = (Product._meta.db_table, "search_listing")
_VECTOR_TRIGGER = "product_search_vector"  # computes search_vector from the text (copied instead)

# Copy k of listing i gets id i + (k - 1) * span: its photo rows follow it without a lookup.
_COPY_LISTINGS_SQL = f"""
INSERT INTO {Product._meta.db_table}
    (id, title, slug, description, price, quantity, tags, is_vintage, is_active, view_count, favorite_count,
     search_vector, created_at, updated_at, category_id, shop_id, reserved_for_id,
     personalization, personalization_max_length, personalization_prompt)
SELECT p.id + (k - 1) * %(span)s, p.title, left(p.slug, 210) || '-c' || k, p.description, p.price, p.quantity,
       p.tags, p.is_vintage, p.is_active, p.view_count, 0, p.search_vector,
       least(now(), p.created_at + (random() - 0.5) * interval '1 day'), now(), p.category_id, p.shop_id,
       p.reserved_for_id, p.personalization, p.personalization_max_length, p.personalization_prompt
  FROM {Product._meta.db_table} p CROSS JOIN generate_series(2, %(copies)s) AS k
 WHERE p.id BETWEEN %(low)s AND %(high)s
 ORDER BY random()
RETURNING id
"""

_COPY_IMAGES_SQL = f"""
INSERT INTO {ProductImage._meta.db_table}
    (image, thumbnail, alt_text, position, width, height, created_at, product_id)
SELECT i.image, i.thumbnail, i.alt_text, i.position, i.width, i.height, now(), i.product_id + (k - 1) * %(span)s
  FROM {ProductImage._meta.db_table} i CROSS JOIN generate_series(2, %(copies)s) AS k
 WHERE i.product_id BETWEEN %(low)s AND %(high)s
"""


def replicate_catalog(*, copies: int, progress: Callable[[int, int], None] | None = None) -> int:
    """Make the listings ``copies`` times as many (copies of those loaded); return how many were added.

    ``progress(done, total)`` is called after each chunk of source listings.
    """
    if copies < 2:
        return 0
    table = Product._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {table}")
        first, last = cursor.fetchone()
    if first is None:
        return 0
    span = last  # copies' ids start past every existing id
    added = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending (deferred) checks
        cursor.execute(
            "SELECT indexdef, quote_ident(schemaname) || '.' || quote_ident(indexname) FROM pg_indexes"
            " WHERE tablename = ANY(%s) AND indexdef LIKE '%% USING gin %%'",
            [list(_REBUILT_TABLES)],
        )
        gin_indexes = cursor.fetchall()
        for _, name in gin_indexes:
            cursor.execute(f"DROP INDEX {name}")  # names read from pg_indexes, quoted
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {_VECTOR_TRIGGER}")
        chunks = list(range(first, last + 1, CHUNK))
        for done, low in enumerate(chunks, start=1):
            bounds = {"copies": copies, "span": span, "low": low, "high": min(low + CHUNK - 1, last)}
            cursor.execute(_COPY_LISTINGS_SQL, bounds)
            new_ids = [row[0] for row in cursor.fetchall()]
            create_implicit_offerings(product_ids=new_ids)
            cursor.execute(_COPY_IMAGES_SQL, bounds)
            added += len(new_ids)
            if progress:
                progress(done, len(chunks))
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {_VECTOR_TRIGGER}")
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        for definition, _ in gin_indexes:
            cursor.execute(definition)
        compact_category_counts()  # the copy appended one count delta per listing
    return added
