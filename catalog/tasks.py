"""Background jobs of the catalog: buffered product views and trending listings."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When

from catalog.models import Category, Product, ProductView
from catalog.personalization import _redis, compute_trending_ids, views_buffer_key
from etsy import cache

logger = logging.getLogger(__name__)

FLUSH_BATCH = 5000
FLUSH_MAX_BATCHES = 20


def _pop_batch(size: int) -> list[bytes]:
    """Take up to ``size`` buffered views off the Redis list atomically."""
    pipe = _redis().pipeline(transaction=True)
    key = views_buffer_key()
    pipe.lrange(key, 0, size - 1)
    pipe.ltrim(key, size, -1)
    items, _ = pipe.execute()
    return items


@shared_task(name="catalog.tasks.flush_product_views")
def flush_product_views() -> int:
    """Write buffered views as ProductView rows and add them to Product.view_count; return the count.

    Each batch is taken off Redis before it is written, so a view is written at most
    once; a crash between the two loses that batch (views are a signal, not money).
    """
    written = 0
    for _ in range(FLUSH_MAX_BATCHES):
        items = _pop_batch(FLUSH_BATCH)
        if not items:
            break
        events = []
        for raw in items:
            try:
                e = json.loads(raw)
                events.append((int(e["p"]), e.get("u") or None, e.get("s") or "", float(e["t"])))
            except (ValueError, KeyError, TypeError):
                logger.warning("dropping a malformed buffered view: %r", raw[:100])
        existing = set(Product.objects.filter(pk__in={e[0] for e in events}).values_list("pk", flat=True))
        # An account closed since its view still counts the view, as a visitor's; it must not fail the batch.
        users = {e[1] for e in events if e[1] is not None}
        known_users = (
            set(get_user_model().objects.filter(pk__in=users).values_list("pk", flat=True)) if users else set()
        )
        rows = [
            ProductView(
                product_id=pid,
                user_id=uid if uid in known_users else None,
                session_key=sk[:64],
                viewed_at=datetime.fromtimestamp(ts, tz=UTC),
            )
            for pid, uid, sk, ts in events
            if pid in existing
        ]
        counts = Counter(r.product_id for r in rows)
        with transaction.atomic():
            ProductView.objects.bulk_create(rows, batch_size=1000)
            if counts:
                # One UPDATE for the batch. Not a listing change: no products_changed (only a counter).
                Product.objects.filter(pk__in=counts).update(
                    view_count=F("view_count")
                    + Case(
                        *[When(pk=pid, then=Value(n)) for pid, n in counts.items()],
                        default=Value(0),
                        output_field=IntegerField(),
                    )
                )
        written += len(rows)
    return written


@shared_task(name="catalog.tasks.compute_trending")
def compute_trending() -> int:
    """Recompute trending ids for the whole catalog and for every category; cache them 15 minutes."""
    category_ids = [None, *Category.objects.values_list("pk", flat=True)]
    for category_id in category_ids:
        ids = compute_trending_ids(category_id=category_id)
        cache.set(cache.trending_key(category_id), ids, ttl=cache.TTL["trending"])
    return len(category_ids)
