"""Search writes: bringing listings' search text up to date when something they borrow text from changes.

A listing's search text includes the names of its category and the category's ancestors
(the trigger of search migration 0001 reads them when the listing is written). Renaming or
moving a category therefore has to rewrite the search text of every listing under it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F

from catalog.models import Category, Product
from search import caching
from search.receivers import reindex_products_after_commit

logger = logging.getLogger("search")

BATCH_SIZE = 1000


def refresh_category_listings(*, category_id: int, batch_size: int = BATCH_SIZE) -> int:
    """Recompute the search text of every listing in the category's subtree; return how many.

    Works in batches, one short transaction each (listings stay writable meanwhile); each
    batch reindexes in Elasticsearch after its commit; at the end every cached answer is dropped
    (a category's new name changes what many queries find). Idempotent: running twice rewrites
    the same text. A category that no longer exists has no listings to refresh.
    """
    path = Category.objects.filter(pk=category_id).values_list("path", flat=True).first()
    if not path:
        return 0
    ids = list(Product.objects.filter(category__path__startswith=path).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        with transaction.atomic():
            # Naming the column in SET fires the search triggers ("UPDATE OF category_id"), value unchanged.
            Product.objects.filter(pk__in=batch).update(category_id=F("category_id"))
            reindex_products_after_commit(batch)  # stamps the listings, refreshes the vocabulary, syncs ES
    # The new name makes these listings match other queries: answers that did not show them must go too.
    transaction.on_commit(caching.bump_listings_version)
    logger.info(
        "category listings refreshed",
        extra={"event": "category_listings_refreshed", "category_id": category_id, "listings": len(ids)},
    )
    return len(ids)
