"""Trending listings and the home feed."""

from __future__ import annotations

from catalog.models import Product
from catalog.selectors.products import list_products_by_ids
from etsy import cache


def _trending_ids(category_id: int | None) -> list[int]:
    from catalog.personalization import compute_trending_ids

    return cache.cache_aside(
        cache.trending_key(category_id),
        lambda: compute_trending_ids(category_id=category_id),
        ttl=cache.TTL["trending"],
        cache_type="trending",
    )


def list_trending_products(*, category_id: int | None = None, limit: int = 24) -> list[Product]:
    """Return trending in-stock listings (whole catalog or one category), cached 15 minutes."""
    return list_products_by_ids(product_ids=_trending_ids(category_id)[:limit])


def get_home_feed(*, user, session_key: str | None = None, limit: int = 24) -> list[Product]:
    """Return the buyer's home feed: personalized with 5+ views, else trending."""
    from catalog.personalization import get_personalized_feed

    return get_personalized_feed(user=user, session_key=session_key, limit=limit)
