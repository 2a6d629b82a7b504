"""Cache keys of the search app (Redis, ``default`` alias), and how cached answers stay right.

A search answer is stored under ``search:{hash}``, the hash of the normalized parameters and
the listings version, together with the *stamps* of the listings it shows. A listing's stamp
(``search:listing:{id}``, a fresh number on every change of that listing: a sale, an edit, a
deletion) moves after commit; an answer whose listings' stamps moved since it was stored is
rebuilt when next read. So a sale drops only the answers showing what was sold, not every answer.

What a change does to answers that do not show the listing (a new listing that now matches,
an edit that makes one match) shows within the answer TTL (``SEARCH_CACHE_TTL``, 2 minutes):
a short, bounded staleness. Sold-out and closed-shop listings are also left out when a page is
loaded (``search.selectors``), so a stale answer never shows them.

Changes that can alter answers without touching a listing's stamp bump the one listings version
(``bump_listings_version``) and drop every answer: a bulk load (no listing ids), a shop's name
or open/closed state.

Suggestions are stored under ``search:suggest:{limit}:{hash of the normalized prefix}``
for the search TTL. They are not versioned: they come from the vocabulary, which itself
follows listing changes only after a debounced refresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable

from django.core.cache import cache

from etsy.cache import batch
from search.types import SearchParams

logger = logging.getLogger(__name__)

VERSION_KEY = "search:version"
# Outlives every answer and page that may hold a stamp (2 minutes + a minute of grace); a stamp
# that expired reads as 0, which differs from the stored one: the answer is rebuilt, never kept wrong.
LISTING_STAMP_TTL = 30 * 60


def listings_version() -> int:
    return int(cache.get(VERSION_KEY) or 0)


def bump_listings_version() -> None:
    """Invalidate every cached search answer."""
    cache.add(VERSION_KEY, 0, timeout=None)
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # the key vanished between add and incr (eviction)
        cache.set(VERSION_KEY, 1, timeout=None)


def listing_stamp_key(product_id: int) -> str:
    return f"search:listing:{product_id}"


def stamp_listings(
    product_ids: Iterable[int], *, add: tuple[str, int] | None = None, when_added: Callable[[], object] | None = None
) -> bool:
    """Mark the listings changed (one round trip): cached answers showing them are rebuilt.

    ``add``: a key and a timeout in seconds; in the same round trip, the key is set (to 1) unless it exists, as
    ``cache.add`` would, and ``when_added`` is called if it was set. Return whether it was set (False without
    ``add``, or when Redis failed: logged). In a commit's callbacks the commands go with the commit's other Redis
    writes (``etsy.cache.batch``): False is returned, ``when_added`` still called once they are sent.

    The stamp is the time in nanoseconds, never a counter: a counter that expired and started
    again could come back to the value an old answer holds.
    """
    stamp = time.time_ns()
    keys = [listing_stamp_key(pk) for pk in dict.fromkeys(product_ids)]
    if not keys and add is None:
        return False
    make_key = cache.make_key
    added = []

    def fill(pipe) -> None:
        # django-redis stores integers unencoded, so these are the values set_many and add write.
        for key in keys:
            pipe.set(make_key(key), stamp, px=LISTING_STAMP_TTL * 1000)
        if add is not None:
            pipe.set(make_key(add[0]), 1, nx=True, px=add[1] * 1000)

    def note_added(replies: list) -> None:
        if add is not None and replies[-1] is True:
            added.append(True)
            if when_added is not None:
                when_added()

    # Redis errors are logged (as the cache's ignored errors: answers expire within their TTL).
    batch.send(fill, what=f"stamp listings {keys}", on_replies=note_added)
    return bool(added)


def read_listing_stamps(product_ids: list[int]) -> tuple[int, ...]:
    """Return the listings' stamps in order (0 for a listing not changed lately), one round trip."""
    if not product_ids:
        return ()
    keys = [listing_stamp_key(pk) for pk in product_ids]
    found = cache.get_many(keys)
    return tuple(int(found.get(key) or 0) for key in keys)


def result_key(params: SearchParams, *, version: int) -> str:
    normalized = {
        "q": " ".join(params.q.lower().split()),
        "category": params.category,
        "price_min": str(params.price_min) if params.price_min is not None else None,
        "price_max": str(params.price_max) if params.price_max is not None else None,
        "price_range": params.price_range,
        "vintage": params.vintage,
        "shop_id": params.shop_id,
        "options": params.chosen_options,
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
