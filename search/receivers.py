"""Keep search answers and the Elasticsearch index in step with listings and shops.

Index work is an outbox row written in the writer's own transaction (search/events.py): a
rollback publishes nothing, and a broker outage delays the work and loses none. The cheap
Redis work acts after commit: it stamps the changed listings (the cached answers showing them
are rebuilt, see search.caching) and asks for one debounced vocabulary refresh.
PostgreSQL's own search vector needs nothing here: a trigger updates it in the
writing transaction.
"""

from __future__ import annotations

import logging
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from catalog.models import Category, Product
from catalog.signals import products_changed
from etsy import outbox
from search import caching, events, indexing
from shops.models import Shop
from shops.signals import shop_changed

logger = logging.getLogger(__name__)

VOCABULARY_PENDING_KEY = "search:vocabulary-refresh-pending"
VOCABULARY_REFRESH_DELAY = 60  # seconds: one refresh covers a burst of edits


def reindex_products_after_commit(product_ids: list[int]) -> None:
    if indexing.is_elasticsearch_enabled() and product_ids:
        outbox.publish(topic=events.TOPIC_INDEX_PRODUCTS, payload={"product_ids": sorted(set(product_ids))})
    transaction.on_commit(partial(_products_changed, product_ids=list(product_ids)))


def reindex_shop_after_commit(shop_id: int, fields: list[str] | None = None) -> None:
    """``fields`` changed (None: unknown, as after a save)."""
    if indexing.is_elasticsearch_enabled():
        outbox.publish(topic=events.TOPIC_INDEX_SHOP, payload={"shop_id": shop_id})
    transaction.on_commit(partial(_shop_changed, shop_id=shop_id, fields=fields))


# Shop fields that change which listings an answer holds (its name is searched, a closed
# shop's listings leave search); rating and sales only move the ranking, within the TTL.
SHOP_FIELDS_IN_ANSWERS = frozenset({"name", "is_active"})


def _products_changed(*, product_ids: list[int]) -> None:
    if product_ids:
        # Only the answers showing them are rebuilt; the vocabulary refresh's debounce in the same round trip.
        caching.stamp_listings(
            product_ids,
            add=(VOCABULARY_PENDING_KEY, VOCABULARY_REFRESH_DELAY * 5),
            when_added=_queue_vocabulary_refresh,
        )
    else:
        caching.bump_listings_version()  # a bulk change of listings nobody named
        schedule_vocabulary_refresh()


def _shop_changed(*, shop_id: int, fields: list[str] | None) -> None:
    if fields is None or SHOP_FIELDS_IN_ANSWERS.intersection(fields):
        caching.bump_listings_version()


def schedule_vocabulary_refresh() -> None:
    """Ask for one vocabulary refresh in VOCABULARY_REFRESH_DELAY seconds (debounced)."""
    if cache.add(VOCABULARY_PENDING_KEY, 1, timeout=VOCABULARY_REFRESH_DELAY * 5):
        _queue_vocabulary_refresh()


def _queue_vocabulary_refresh() -> None:
    """Queue the refresh whose debounce key was just set; without a broker, drop the key again."""
    from search import tasks

    if not _send_task(tasks.refresh_search_vocabulary.apply_async, countdown=VOCABULARY_REFRESH_DELAY):
        cache.delete(VOCABULARY_PENDING_KEY)  # let the next change ask again


def _send_task(send, *args, **kwargs) -> bool:
    """Queue a sync task; a broker outage is logged, never raised into the committed writer (e.g. checkout)."""
    try:
        send(*args, **kwargs)
    except Exception:
        logger.warning(
            "search sync task not queued (broker unavailable)", exc_info=True, extra={"event": "search_sync_not_queued"}
        )
        return False
    return True


def on_product_saved(sender, instance: Product, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata
        return
    reindex_products_after_commit([instance.pk])


def on_product_deleted(sender, instance: Product, **kwargs) -> None:
    reindex_products_after_commit([instance.pk])


def on_products_changed(sender, product_ids=(), **kwargs) -> None:
    reindex_products_after_commit(list(product_ids))


def on_shop_saved(sender, instance: Shop, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw:
        return
    reindex_shop_after_commit(instance.pk, list(update_fields) if update_fields else None)


def on_shop_changed(sender, shop_id: int, fields=None, **kwargs) -> None:
    reindex_shop_after_commit(shop_id, list(fields) if fields is not None else None)


def remember_category_text(sender, instance: Category, raw: bool = False, **kwargs) -> None:
    """Note the name and parent the category had, so post_save can tell a rename or a move."""
    if raw or not instance.pk:
        instance._search_text_before = None
        return
    instance._search_text_before = Category.objects.filter(pk=instance.pk).values_list("name", "parent_id").first()


def on_category_saved(sender, instance: Category, created: bool = False, raw: bool = False, **kwargs) -> None:
    """A renamed or moved category changes its listings' search text: rewrite it in the background."""
    before = getattr(instance, "_search_text_before", None)
    if raw or created or before is None or before == (instance.name, instance.parent_id):
        return
    outbox.publish(topic=events.TOPIC_REFRESH_CATEGORY, payload={"category_id": instance.pk})


def connect() -> None:
    post_save.connect(on_product_saved, sender=Product, dispatch_uid="search.product_saved")
    post_delete.connect(on_product_deleted, sender=Product, dispatch_uid="search.product_deleted")
    products_changed.connect(on_products_changed, dispatch_uid="search.products_changed")
    post_save.connect(on_shop_saved, sender=Shop, dispatch_uid="search.shop_saved")
    shop_changed.connect(on_shop_changed, dispatch_uid="search.shop_changed")
    pre_save.connect(remember_category_text, sender=Category, dispatch_uid="search.category_before_save")
    post_save.connect(on_category_saved, sender=Category, dispatch_uid="search.category_saved")
