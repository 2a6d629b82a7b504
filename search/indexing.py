"""Elasticsearch documents of listings brought up to date: the adapter at the cluster's edge.

Called by search's outbox handlers (search/events.py); each call is idempotent (documents are
overwritten, missing ones deleted), so a retried row has the effect of one.
"""

from __future__ import annotations

from django.conf import settings


def is_elasticsearch_enabled() -> bool:
    return bool(getattr(settings, "ELASTICSEARCH_URL", ""))


def index_products(product_ids: list[int]) -> int:
    """Bring the Elasticsearch documents of these listings up to date; delete those that are gone."""
    if not is_elasticsearch_enabled():
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


def index_shop_products(shop_id: int) -> int:
    """Reindex every listing of a shop (its name, rating, sales count or visibility changed)."""
    if not is_elasticsearch_enabled():
        return 0
    from search.documents import ProductDocument

    document = ProductDocument()
    queryset = document.get_queryset().filter(shop_id=shop_id)
    document.update(queryset.iterator(chunk_size=500))
    return queryset.count()
