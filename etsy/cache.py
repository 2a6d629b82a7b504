"""Cache-aside with stampede protection, the TTL table and the cache keys of page data.

Every cached read goes through :func:`cache_aside`: try Redis, on a miss take a short
lock (``SET lock:<key> 1 NX EX 5``) so one process rebuilds the value while the others
look again after a few milliseconds, then less often (1 s in all, then they read the
database themselves). The "default" cache alias swallows Redis errors, and so does this module:
with Redis down every read falls through to the database and pages are still served.
``CACHE_ENABLED=false`` bypasses the cache entirely.

Listings (category pages, shop listings) are keyed with a *generation* number per
category and per shop: invalidating a listing bumps the generation instead of scanning
keys, and the old entries expire by themselves.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches

from etsy import metrics, near_cache

logger = logging.getLogger(__name__)

T = TypeVar("T")

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
    "page": 5 * 60,  # rendered page shells (product page, home, category) for everybody
}

# Entries filled together (a warm-up, a deploy, a flush) would otherwise expire together and be
# rebuilt in one wave; each entry lives its type's TTL less up to 20 %, never longer. A thousand
# product pages built in one second are rebuilt over a minute, not 30 s (with 10 %, the
# `make bench-web` round that met such a wave fell to 8-22 % of the bare view).
TTL_JITTER = 0.2

LOCK_TTL_SECONDS = 5
# While another process rebuilds a key, a waiter looks again soon (a product page is rebuilt in
# about 20 ms), then less often: 1 s in all, then it reads the database itself. The documents
# sleep a fixed 50 ms, which costs nothing on an event loop; a sync worker that sleeps serves
# nobody, and 50 ms for a 20 ms rebuild halved a worker's throughput while pages expired.
LOCK_WAITS_SECONDS = (0.005, 0.005, 0.01, 0.01, 0.02, 0.05) + (0.1,) * 9
LOCK_MAX_WAITS = len(LOCK_WAITS_SECONDS)

_MISSING = object()


def is_enabled() -> bool:
    return bool(getattr(settings, "CACHE_ENABLED", True))


def _cache():
    return caches["default"]


# --- keys -----------------------------------------------------------------------


def product_key(product_id: int) -> str:
    return f"product:{product_id}"


def product_page_key(product_id: int) -> str:
    return f"page:product:{product_id}"


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


def cart_key(user_id: int) -> str:
    return f"cart:{user_id}"


def cart_count_key(user_id: int) -> str:
    return f"cart:{user_id}:count"


def cart_version_key(user_id: int) -> str:
    """The version of the cached cart contents (see :func:`store_if_newer`)."""
    return f"cart:{user_id}:version"


def cart_sequence_key(user_id: int) -> str:
    """The counter every cart change takes its version from."""
    return f"cart:{user_id}:seq"


def favorites_key(user_id: int) -> str:
    return f"favorites:{user_id}"


CATEGORY_TREE_KEY = "category:tree:v2"  # v2: the tree carries its build id
CATEGORY_TREE_BUILD_KEY = "category:tree:build"  # which build of the tree is current (see catalog.selectors)
HOME_PAGE_KEY = "page:home"


def params_digest(params: dict[str, Any]) -> str:
    """Return a short stable digest of query parameters for a listing key."""
    raw = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] not in (None, ""))
    return hashlib.blake2b(raw.encode(), digest_size=10).hexdigest()


# --- reads ------------------------------------------------------------------------


def get(key: str, *, cache_type: str) -> Any:
    """Return the cached value or ``None``; count the hit or miss."""
    if not is_enabled():
        return None
    value = _cache().get(key, _MISSING)
    if value is _MISSING:
        metrics.cache_misses.labels(cache_type=cache_type).inc()
        return None
    metrics.cache_hits.labels(cache_type=cache_type).inc()
    return value


def count_lookups(cache_type: str, *, hits: int, misses: int) -> None:
    """Count the hits and misses of a batch read (``get_many``)."""
    if hits:
        metrics.cache_hits.labels(cache_type=cache_type).inc(hits)
    if misses:
        metrics.cache_misses.labels(cache_type=cache_type).inc(misses)


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    """Return the cached values found (one round trip); nothing when disabled or Redis is down."""
    keys = list(keys)
    if not is_enabled() or not keys:
        return {}
    return _cache().get_many(keys)


def jittered(ttl: int) -> int:
    """Return ``ttl`` less a random part of up to ``TTL_JITTER`` of it."""
    return max(1, ttl - random.randint(0, int(ttl * TTL_JITTER)))


def set(key: str, value: Any, *, ttl: int, jitter: bool = True) -> None:  # noqa: A001 - the module is the namespace
    if is_enabled():
        _forget_near(key)
        _cache().set(key, value, jittered(ttl) if jitter else ttl)


def _forget_near(*keys: str) -> None:
    """Drop this process's near copies of keys it is about to write (Redis tells the other processes)."""
    if near_cache._instance is not None:
        near_cache.forget([_cache().make_key(k) for k in keys])


# --- serve the old copy while one process refreshes it -------------------------------------
# A hot page that expires has readers arriving while it is rebuilt. With plain cache-aside they
# wait on the stampede lock, and a sync worker that waits serves nobody. A copy kept a little
# past its freshness lets them answer with it while the lock holder rebuilds: the page a reader
# sees is never older than its TTL plus one rebuild (STALE_GRACE_SECONDS at worst, should the
# rebuilding process die). Invalidation deletes the key, so an edit or a sale never waits on this.
STALE_GRACE_SECONDS = 60


def fresh_until(ttl: int) -> float:
    """The time (``time.time()``) until which a copy stored now is fresh: ``ttl`` less the jitter."""
    return time.time() + jittered(ttl)


def set_with_grace(key: str, value: Any, *, ttl: int) -> None:
    """Store a copy stamped with :func:`fresh_until` (``ttl``); Redis keeps it ``STALE_GRACE_SECONDS`` longer."""
    set(key, value, ttl=ttl + STALE_GRACE_SECONDS, jitter=False)


def rebuild_if_stale(key: str, stamp: float | None, rebuild: Callable[[], T]) -> T | None:
    """Return ``rebuild()`` when the copy's ``stamp`` has passed and this process takes the key's lock.

    ``None`` means: answer with the copy (still fresh, or another process is rebuilding it).
    ``rebuild`` stores the new copy itself; the lock is released whatever it raises.
    """
    if stamp is None or stamp > time.time() or not is_enabled():
        return None
    lock_key = _lock_key(key)
    if not _cache().add(lock_key, 1, LOCK_TTL_SECONDS):
        return None
    try:
        return rebuild()
    finally:
        _cache().delete(lock_key)


def _lock_key(key: str) -> str:
    return f"lock:{key}"


def cache_aside(
    key: str, fetch: Callable[[], T], *, ttl: int, cache_type: str, known_missing: bool = False, lock: bool = True
) -> T:
    """Return the cached value of ``key``, or build it with ``fetch`` under a stampede lock.

    Only one process runs ``fetch`` for a missing key; the others look again after 5 ms,
    then less often (``LOCK_WAITS_SECONDS``, 1 s in all), then fetch themselves. A Redis failure at
    any step degrades to calling ``fetch`` (the database stays the source of truth).
    ``known_missing``: the caller just read the key and found nothing (skip the read).
    ``lock=False`` for one-row primary-key reads, where a stampede costs less than the lock.
    """
    if not is_enabled():
        return fetch()
    cache = _cache()
    if not known_missing:
        value = cache.get(key, _MISSING)
        if value is not _MISSING:
            metrics.cache_hits.labels(cache_type=cache_type).inc()
            return value
    metrics.cache_misses.labels(cache_type=cache_type).inc()
    if not lock:
        value = fetch()
        _forget_near(key)
        cache.set(key, value, jittered(ttl))
        return value
    lock_key = _lock_key(key)
    for attempt in range(LOCK_MAX_WAITS):
        acquired = cache.add(lock_key, 1, LOCK_TTL_SECONDS)
        if acquired is None:  # Redis error (swallowed by the alias): no lock to be had, use the database
            return fetch()
        if acquired:
            try:
                value = fetch()
                _forget_near(key)
                cache.set(key, value, jittered(ttl))
                return value
            finally:
                cache.delete(lock_key)
        time.sleep(LOCK_WAITS_SECONDS[attempt % len(LOCK_WAITS_SECONDS)])
        value = cache.get(key, _MISSING)
        if value is not _MISSING:
            return value
    logger.warning("cache lock wait exhausted for %s; reading the database", key)
    return fetch()


def set_many(values: dict[str, Any], *, ttl: int) -> None:
    if is_enabled() and values:
        _forget_near(*values)
        _cache().set_many(values, jittered(ttl))


# --- versioned write-through --------------------------------------------------------------
# Write-through has a race plain cache-aside does not: two writers read the database in one
# order and store in the other, and the older contents win for the whole TTL. Each writer
# takes a number from a per-key counter *after* its commit and stores only if no newer number
# was stored; a reader stores the counter it saw before reading the database. A number taken
# later was taken after more commits, so its database read saw at least as much.

# KEYS: the version key, the sequence key, then the value keys; ARGV: version, ttl, then the values.
# Every store also extends the counter to twice the values' TTL: a counter that expired while a
# stored version lived on would restart below it, and every later store would be refused.
_STORE_IF_NEWER = """
local stored = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) < stored then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
redis.call('EXPIRE', KEYS[2], 2 * ttl)
for i = 3, #KEYS do redis.call('SET', KEYS[i], ARGV[i], 'EX', ttl) end
return 1
"""
_store_script = None


def take_version(sequence_key: str, *, ttl: int) -> int | None:
    """Return the next number of ``sequence_key`` (``None`` when the cache is off or Redis failed).

    The counter lives twice as long as the values it versions (every store extends it too), so
    it cannot restart below a version still stored.
    """
    if not is_enabled():
        return None
    backend = _cache()
    try:
        client = backend.client.get_client(write=True)
        raw = backend.client.make_key(sequence_key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(raw)
        pipe.expire(raw, 2 * ttl)
        version, _ = pipe.execute()
        return int(version)
    except Exception:
        logger.warning("could not take a version of %s", sequence_key, exc_info=True)
        return None


def store_if_newer(
    values: dict[str, Any], *, version_key: str, sequence_key: str, version: int, ttl: int
) -> bool:
    """Store ``values`` (and ``version`` under ``version_key``) unless a newer version is stored.

    ``version`` was taken from ``sequence_key`` (``take_version``, or read by a reader before
    it read the database). One atomic script; returns whether it stored. Redis errors are
    logged and read as False.
    """
    global _store_script
    if not is_enabled():
        return False
    backend = _cache()
    try:
        client = backend.client.get_client(write=True)
        if _store_script is None:
            _store_script = client.register_script(_STORE_IF_NEWER)
        keys = [backend.client.make_key(version_key), backend.client.make_key(sequence_key)]
        keys += [backend.client.make_key(k) for k in values]
        args = [version, ttl] + [backend.client.encode(v) for v in values.values()]
        return bool(_store_script(keys=keys, args=args, client=client))
    except Exception:
        logger.warning("could not store %s", version_key, exc_info=True)
        return False


def cache_aside_many(
    ids: Iterable[int], *, key: Callable[[int], str], fetch: Callable[[list[int]], dict[int, Any]], ttl: int,
    cache_type: str,
) -> dict[int, Any]:
    """Return ``{id: value}`` for ``ids``: one MGET, then one ``fetch(missing ids)`` for the misses, stored.

    A cached ``None`` is a hit (the caller says what it means); ids ``fetch`` leaves out are
    neither stored nor returned. No stampede lock: a batch is one query for its misses, and
    entries shared by many pages (cards) are rebuilt by whichever batch misses them first.
    """
    ids = list(dict.fromkeys(ids))
    found = get_many([key(pk) for pk in ids])
    values = {pk: found[key(pk)] for pk in ids if key(pk) in found}
    missing = [pk for pk in ids if pk not in values]
    count_lookups(cache_type, hits=len(values), misses=len(missing))
    if missing:
        fetched = fetch(missing)
        set_many({key(pk): value for pk, value in fetched.items()}, ttl=ttl)
        values.update(fetched)
    return values


# --- generations (listing invalidation without key scans) -------------------------


def get_generations(keys: list[str]) -> list[int]:
    """Return the generation number of each key (0 when unknown), in one round trip."""
    if not is_enabled() or not keys:
        return [0] * len(keys)
    found = _cache().get_many(keys)
    return [int(found.get(k) or 0) for k in keys]


def bump_generations(keys: Iterable[str]) -> None:
    cache = _cache()
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:  # unknown key: start it (a missing generation reads as 0)
            cache.set(key, 1, None)


# --- invalidation -----------------------------------------------------------------


def delete(*keys: str) -> None:
    if keys:
        _forget_near(*keys)
        _cache().delete_many(list(keys))


def delete_pattern(pattern: str) -> None:
    near_cache.clear()
    _cache().delete_pattern(pattern)


# --- page shells --------------------------------------------------------------------
# A page shell is a whole rendered page with holes where per-visitor blocks go (the
# account links and cart count, messages, the buy box, favorite buttons) and a marker
# where the CSRF token goes. Shells are cached like any other value; each request
# fills the holes, which costs far less than rendering the page.

CSRF_MARKER = "__csrf_token_hole__"


def hole(name: str) -> str:
    return f"<!--hole:{name}-->"


def render_shell(request, template_name: str, context: dict[str, Any]) -> str:
    """Render a page with holes instead of personal blocks (no visitor data may leak in)."""
    from django.template.loader import render_to_string

    return render_to_string(
        template_name, {**context, "shell_mode": True, "csrf_token": CSRF_MARKER}, request=request
    )


def fill_shell(shell: str, holes: dict[str, str], csrf_token: Callable[[], str]) -> str:
    """Put the visitor's blocks into a shell, then the CSRF token where a form needs one.

    ``csrf_token`` is called only when the page holds a form (it may set the CSRF cookie).
    """
    html = shell
    for name, value in holes.items():
        html = html.replace(hole(name), value)
    if CSRF_MARKER in html:
        html = html.replace(CSRF_MARKER, csrf_token())
    return html


# --- one round trip for hot pages ---------------------------------------------------------


def read_with(
    keys: list[str], queue: Callable[[Any], None] | None = None, *, near_keys: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """Read ``keys`` and run the raw commands ``queue`` adds, in one pipelined round trip.

    Returns the values found (decoded like ``cache.get``) with the raw replies of the queued
    commands under ``"__replies__"``, or ``None`` when the cache is disabled or Redis failed:
    the caller then takes its ordinary (database) path.
    ``near_keys`` (among ``keys``, under ``near_cache.TRACKED_PREFIXES``) are answered from this
    process's copies when it has them, and kept there when read; with all of ``keys`` local and
    nothing queued, there is no round trip at all.
    """
    if not is_enabled():
        return None
    backend = _cache()
    near = near_cache.get() if near_keys else None
    found: dict[str, Any] = {}
    since = 0
    if near is not None:
        since = near.snapshot()
        raw_near = {backend.client.make_key(k): k for k in near_keys}
        found = {raw_near[raw]: value for raw, value in near.lookup(raw_near).items()}
        if found:
            metrics.near_cache_hits.inc(len(found))
        if queue is None and all(k in found for k in keys):
            found["__replies__"] = []
            return found
    remote = [k for k in keys if k not in found]
    to_keep = [k for k in near_keys if k in remote] if near is not None else []
    try:
        client = backend.client.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        pipe.mget([backend.client.make_key(k) for k in remote])
        if queue is not None:
            queue(pipe)
        for k in to_keep:
            pipe.pttl(backend.client.make_key(k))
        values, *replies = pipe.execute()
        if to_keep:
            replies, ttls = replies[: -len(to_keep)], replies[-len(to_keep) :]
        read = {k: backend.client.decode(v) for k, v in zip(remote, values, strict=True) if v is not None}
        if to_keep:
            near.store(
                {backend.client.make_key(k): (read[k], ttl) for k, ttl in zip(to_keep, ttls, strict=True) if k in read},
                since,
            )
        found.update(read)
        found["__replies__"] = replies
        return found
    except Exception:
        logger.warning("pipelined cache read failed; using the database", exc_info=True)
        return None


def add_to_set(set_key: str, member: str, *, ttl: int) -> None:
    """Remember ``member`` (a cache key) under ``set_key`` so it can be dropped with the set."""
    if not is_enabled():
        return
    backend = _cache()
    try:
        client = backend.client.get_client(write=True)
        raw = backend.client.make_key(set_key)
        pipe = client.pipeline(transaction=False)
        pipe.sadd(raw, backend.client.make_key(member))
        pipe.expire(raw, ttl)
        pipe.execute()
    except Exception:
        logger.warning("could not record %s in %s", member, set_key, exc_info=True)


def delete_set_members(set_key: str) -> None:
    """Delete every key recorded under ``set_key``, and the set."""
    backend = _cache()
    try:
        client = backend.client.get_client(write=True)
        raw = backend.client.make_key(set_key)
        members = list(client.smembers(raw))
        near_cache.forget([m.decode() for m in members])
        client.delete(raw, *members)
    except Exception:
        logger.warning("could not drop the keys of %s", set_key, exc_info=True)


def shop_pages_key(shop_id: int) -> str:
    return f"shop:{shop_id}:pages"
