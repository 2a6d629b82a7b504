"""Background jobs of the search app. Each is idempotent: running twice has the effect of once."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch import ConnectionTimeout as ESConnectionTimeout

logger = logging.getLogger("search")

_ES_TEMPORARY = (ESConnectionError, ESConnectionTimeout)


def _is_elasticsearch_enabled() -> bool:
    return bool(getattr(settings, "ELASTICSEARCH_URL", ""))


@shared_task(autoretry_for=_ES_TEMPORARY, retry_backoff=True, retry_backoff_max=300, max_retries=8, acks_late=True)
def index_products(product_ids: list[int]) -> int:
    """Bring the Elasticsearch documents of these listings up to date; delete those that are gone."""
    if not _is_elasticsearch_enabled():
        return 0
    from search.documents import ProductDocument

    document = ProductDocument()
    products = list(document.get_queryset().filter(pk__in=product_ids))
    if products:
        document.update(products)
    missing = set(product_ids) - {p.pk for p in products}
    for pk in missing:
        document._get_connection().delete(index=document._index._name, id=pk, ignore_status=404)
    return len(products)


@shared_task(autoretry_for=_ES_TEMPORARY, retry_backoff=True, retry_backoff_max=300, max_retries=8, acks_late=True)
def index_shop_products(shop_id: int) -> int:
    """Reindex every listing of a shop (its rating, sales count or visibility changed)."""
    if not _is_elasticsearch_enabled():
        return 0
    from search.documents import ProductDocument

    document = ProductDocument()
    queryset = document.get_queryset().filter(shop_id=shop_id)
    document.update(queryset.iterator(chunk_size=500))
    return queryset.count()


@shared_task(acks_late=True)
def refresh_category_listings(category_id: int) -> int:
    """Rewrite the search text of the listings under a renamed or moved category."""
    from search.services import refresh_category_listings as refresh

    return refresh(category_id=category_id)


@shared_task
def refresh_search_vocabulary() -> None:
    """Rebuild the spelling-correction vocabulary from the searchable listings."""
    from search.backends.postgres import refresh_vocabulary
    from search.receivers import VOCABULARY_PENDING_KEY

    cache.delete(VOCABULARY_PENDING_KEY)
    refresh_vocabulary()
