"""Cache keys of the search app (Redis, ``default`` alias).

A search answer is stored under ``search:{hash}``, the hash of the normalized
parameters and the current listings version. Any listing or shop change bumps the
version (``bump_listings_version``), so every cached answer is dropped at once
without scanning keys; old entries simply expire after their TTL.

Suggestions are stored under ``search:suggest:{limit}:{hash of the normalized prefix}``
for the search TTL. They are not versioned: they come from the vocabulary, which itself
follows listing changes only after a debounced refresh.
"""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache

from search.types import SearchParams

VERSION_KEY = "search:version"


def listings_version() -> int:
    return int(cache.get(VERSION_KEY) or 0)


def bump_listings_version() -> None:
    """Invalidate every cached search answer."""
    cache.add(VERSION_KEY, 0, timeout=None)
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # the key vanished between add and incr (eviction)
        cache.set(VERSION_KEY, 1, timeout=None)


def result_key(params: SearchParams, *, version: int) -> str:
    normalized = {
        "q": " ".join(params.q.lower().split()),
        "category": params.category,
        "price_min": str(params.price_min) if params.price_min is not None else None,
        "price_max": str(params.price_max) if params.price_max is not None else None,
        "price_range": params.price_range,
        "vintage": params.vintage,
        "shop_id": params.shop_id,
        "sort": params.sort,
        "page": params.page,
        "per_page": params.per_page,
        "v": version,
    }
    digest = hashlib.sha256(json.dumps(normalized, sort_keys=True).encode()).hexdigest()[:32]
    return f"search:{digest}"


def suggestions_key(prefix: str, *, limit: int) -> str:
    """Key of the suggestions for a normalized prefix (hashed: the prefix is shopper text)."""
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:32]
    return f"search:suggest:{limit}:{digest}"
