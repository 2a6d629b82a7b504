"""The cache keys of page data and the documents' TTL table."""

from __future__ import annotations

import hashlib
from typing import Any

# The documents' TTL table, in seconds.
TTL = {
    "product": 5 * 60,
    "shop": 10 * 60,
    "category": 5 * 60,  # category listings (ids + count for one page of one filter set)
    "category_tree": 60 * 60,
    "search": 2 * 60,
    "trending": 15 * 60,
    "feed": 5 * 60,  # a signed-in buyer's personalized feed ("compute, cache for 5 minutes")
    "favorites": 5 * 60,
    "inventory": 30,  # so "only 1 left" and "in another cart" stay honest
    "reviews": 10 * 60,
    "similar": 15 * 60,  # similar-item ids: drawn from the trending pool, kept as long as it
    "cart": 30 * 60,  # cart contents and the header's count: written through after every cart change
    "account": 5 * 60,  # the marker under which a web process keeps a signed-in account (accounts.backends)
    "page": 5 * 60,  # rendered page shells (product page, home, category) for everybody
}

# Entries filled together (a warm-up, a deploy, a flush) would otherwise expire together and be
# rebuilt in one wave; each entry lives its type's TTL less up to 20 %, never longer. A thousand
# product pages built in one second are rebuilt over a minute, not 30 s (with 10 %, the
# `make bench-web` round that met such a wave fell to 8-22 % of the bare view).
TTL_JITTER = 0.2


def product_key(product_id: int) -> str:
    return f"product:{product_id}"


def product_page_key(product_id: int) -> str:
    # v2: the record's buy-box product carries the listing's choices (variation selects, personalisation).
    return f"page:product:v2:{product_id}"


def product_choices_key(product_id: int) -> str:
    """A listing's variation properties, offerings and personalisation ask (its page's selects)."""
    return f"product:{product_id}:choices"


def inventory_key(product_id: int) -> str:
    return f"inventory:{product_id}"


def similar_key(product_id: int) -> str:
    return f"product:{product_id}:similar"


def shop_key(shop_id: int) -> str:
    return f"shop:{shop_id}"


def shop_reviews_key(shop_id: int) -> str:
    return f"shop:{shop_id}:rating"


def shop_products_gen_key(shop_id: int) -> str:
    return f"shop:{shop_id}:products"


def category_gen_key(category_id: int) -> str:
    return f"gen:category:{category_id}"


def trending_key(category_id: int | None) -> str:
    return f"trending:{category_id or 'all'}"


def feed_key(user_id: int) -> str:
    return f"feed:{user_id}"


# The cart's keys share one hash tag ({user id}): the write-through Lua script (write_through.py) touches
# them together, and a Redis Cluster runs a script only when all its keys live in one slot.
def cart_key(user_id: int) -> str:
    return f"cart:{{{user_id}}}"


def cart_count_key(user_id: int) -> str:
    return f"cart:{{{user_id}}}:count"


def unread_messages_key(user_id: int) -> str:
    """The header's unread-messages count (kept by the messaging app, read with the page)."""
    return f"messages:{user_id}:unread"


# The cart's two counters are outside "cart:", a prefix every web process tracks (etsy.near_cache): no process
# keeps them, and under it each cart change sent every process two invalidation messages, not one.
def cart_version_key(user_id: int) -> str:
    """The version of the cached cart contents (see :func:`store_if_newer`)."""
    return f"cartversion:{{{user_id}}}"


def cart_sequence_key(user_id: int) -> str:
    """The counter every cart change takes its version from."""
    return f"cartversion:{{{user_id}}}:seq"


def favorites_key(user_id: int) -> str:
    return f"favorites:{user_id}"


def account_key(user_id: int) -> str:
    """A marker only: the account itself stays in the process that read it (accounts.backends)."""
    return f"account:{user_id}"


def account_token_key(token_key: str) -> str:
    """A marker only: the API token's account id stays in the process that read it (accounts.authentication).
    Named by a digest: the token itself never reaches Redis."""
    return f"account:token:{hashlib.blake2b(token_key.encode(), digest_size=16).hexdigest()}"


CATEGORY_TREE_KEY = "category:tree:v2"  # v2: the tree carries its build id
CATEGORY_TREE_BUILD_KEY = "category:tree:build"  # which build of the tree is current (see catalog.selectors)
HOME_PAGE_KEY = "page:home"


def params_digest(params: dict[str, Any]) -> str:
    """Return a short stable digest of query parameters for a listing key."""
    raw = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] not in (None, ""))
    return hashlib.blake2b(raw.encode(), digest_size=10).hexdigest()


def shop_pages_key(shop_id: int) -> str:
    return f"shop:{shop_id}:pages"
