"""The cache of page data in Redis, and how it stays right.

- ``keys``: the cache keys and the documents' TTL table.
- ``store``: plain reads, writes and deletes; Redis errors read as "not cached", so with Redis
  down every page is built from the database. ``CACHE_ENABLED=false`` bypasses it all.
- ``aside``: cache-aside under a stampede lock, and stale copies served while this process's refresher
  thread rebuilds them off the request path.
- ``write_through``: versioned stores for data written after every change (carts).
- ``pages``: page shells with holes for the visitor's blocks, and the one pipelined read of a
  hot page (answered from the worker's near copies when it has them, ``etsy.near_cache``).

Listings (category pages, shop listings) are keyed with a *generation* number per category and
per shop: invalidating a listing bumps the generation instead of scanning keys, and the old
entries expire by themselves. Callers use the package: ``from etsy import cache``, ``cache.get(...)``.
"""

from etsy.cache.aside import (
    EARLY_REFRESH_SECONDS,
    LOCK_MAX_WAITS,
    LOCK_TTL_SECONDS,
    LOCK_WAITS_SECONDS,
    STALE_GRACE_SECONDS,
    cache_aside,
    cache_aside_many,
    fresh_until,
    refresh_when_stale,
    refresher,
    set_with_grace,
)
from etsy.cache.keys import (
    CATEGORY_TREE_BUILD_KEY,
    CATEGORY_TREE_KEY,
    HOME_PAGE_KEY,
    TTL,
    TTL_JITTER,
    account_key,
    account_token_key,
    cart_count_key,
    cart_key,
    cart_sequence_key,
    cart_version_key,
    category_gen_key,
    favorites_key,
    feed_key,
    inventory_key,
    params_digest,
    product_choices_key,
    product_key,
    product_page_key,
    shop_key,
    shop_pages_key,
    shop_products_gen_key,
    shop_reviews_key,
    similar_key,
    trending_key,
    unread_messages_key,
)
from etsy.cache.pages import CSRF_MARKER, csrf_token, fill_shell, hole, read_with, render_shell
from etsy.cache.store import (
    add_to_set,
    bump_generations,
    count_lookups,
    delete,
    delete_pattern,
    delete_set_members,
    ensure_marker,
    ensure_markers,
    forget_near,
    get,
    get_generations,
    get_many,
    is_enabled,
    jittered,
    raw_key,
    set,  # noqa: A004 - the package is the namespace
    set_many,
)
from etsy.cache.write_through import store_if_newer, take_version

__all__ = [
    "CATEGORY_TREE_BUILD_KEY",
    "CATEGORY_TREE_KEY",
    "CSRF_MARKER",
    "EARLY_REFRESH_SECONDS",
    "HOME_PAGE_KEY",
    "LOCK_MAX_WAITS",
    "LOCK_TTL_SECONDS",
    "LOCK_WAITS_SECONDS",
    "STALE_GRACE_SECONDS",
    "TTL",
    "TTL_JITTER",
    "account_key",
    "account_token_key",
    "add_to_set",
    "bump_generations",
    "cache_aside",
    "cache_aside_many",
    "cart_count_key",
    "cart_key",
    "cart_sequence_key",
    "cart_version_key",
    "category_gen_key",
    "count_lookups",
    "delete",
    "delete_pattern",
    "delete_set_members",
    "ensure_marker",
    "ensure_markers",
    "favorites_key",
    "feed_key",
    "csrf_token",
    "fill_shell",
    "forget_near",
    "fresh_until",
    "get",
    "get_generations",
    "get_many",
    "hole",
    "inventory_key",
    "is_enabled",
    "jittered",
    "params_digest",
    "product_key",
    "product_choices_key",
    "product_page_key",
    "raw_key",
    "read_with",
    "refresh_when_stale",
    "refresher",
    "render_shell",
    "set",
    "set_many",
    "set_with_grace",
    "shop_key",
    "shop_pages_key",
    "shop_products_gen_key",
    "shop_reviews_key",
    "similar_key",
    "store_if_newer",
    "take_version",
    "trending_key",
    "unread_messages_key",
]
