"""Background jobs of the search app (index work runs as outbox rows: search/events.py). Idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

logger = logging.getLogger("search")


@shared_task
def refresh_search_vocabulary() -> None:
    """Rebuild the spelling-correction vocabulary from the searchable listings."""
    from search.backends.postgres import refresh_vocabulary
    from search.receivers import VOCABULARY_PENDING_KEY

    cache.delete(VOCABULARY_PENDING_KEY)
    refresh_vocabulary()


@shared_task
def compact_search_category_counts() -> None:
    """Fold the per-category count deltas appended by listing writes into one row per key."""
    from search.backends.postgres.counts import compact_category_counts

    compact_category_counts()
