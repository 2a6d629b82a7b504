"""Cache-aside with a stampede lock, and stale copies served while one process rebuilds.

Every cached read of page data goes through :func:`cache_aside`: try Redis, on a miss take a
short lock (``SET lock:<key> 1 NX EX 5``) so one process rebuilds the value while the others
look again after a few milliseconds, then less often (1 s in all, then they read the database
themselves). A Redis failure at any step degrades to the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from etsy import metrics
from etsy.cache import store
from etsy.cache.store import MISSING, count_lookups, forget_near, get_many, is_enabled, jittered, redis_cache, set_many

logger = logging.getLogger(__name__)

T = TypeVar("T")

LOCK_TTL_SECONDS = 5
# While another process rebuilds a key, a waiter looks again soon (a product page is rebuilt in
# about 20 ms), then less often: 1 s in all, then it reads the database itself. The documents
# sleep a fixed 50 ms, which costs nothing on an event loop; a sync worker that sleeps serves
# nobody, and 50 ms for a 20 ms rebuild halved a worker's throughput while pages expired.
LOCK_WAITS_SECONDS = (0.005, 0.005, 0.01, 0.01, 0.02, 0.05) + (0.1,) * 9
LOCK_MAX_WAITS = len(LOCK_WAITS_SECONDS)


# --- serve the old copy while one process refreshes it -------------------------------------
# A hot page that expires has readers arriving while it is rebuilt. With plain cache-aside they
# wait on the stampede lock, and a sync worker that waits serves nobody. A copy kept a little
# past its freshness lets them answer with it while the lock holder rebuilds: the page a reader
# sees is never older than its TTL plus STALE_GRACE_SECONDS (usually one rebuild; longer while
# many copies expire at once, see STALE_REFRESHES_PER_SECOND). Invalidation deletes the key, so
# an edit or a sale never waits on this.
STALE_GRACE_SECONDS = 60


def fresh_until(ttl: int) -> float:
    """The time (``time.time()``) until which a copy stored now is fresh: ``ttl`` less the jitter."""
    return time.time() + jittered(ttl)


def set_with_grace(key: str, value: Any, *, ttl: int) -> None:
    """Store a copy stamped with :func:`fresh_until` (``ttl``); Redis keeps it ``STALE_GRACE_SECONDS`` longer."""
    store.set(key, value, ttl=ttl + STALE_GRACE_SECONDS, jitter=False)


# Refreshing stale copies is work a process can put off for up to the grace minute: when many
# expire together (a warm-up, a deploy, a flush), each process refreshes at most this many a
# second and answers the rest with their copies, instead of spending every request on rebuilds
# (a product page rebuild takes 10-40 ms under load). Two processes at 10 a second refresh
# 1,200 copies within the grace minute; a copy not refreshed by then is a plain miss.
STALE_REFRESHES_PER_SECOND = 10


class _RefreshBudget:
    """A token bucket per process: STALE_REFRESHES_PER_SECOND, bursts of as many."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.checked = time.monotonic()
        self._lock = threading.Lock()

    def refill(self) -> None:
        with self._lock:
            self.tokens, self.checked = self.rate, time.monotonic()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.checked) * self.rate)
            self.checked = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


refresh_budget = _RefreshBudget(STALE_REFRESHES_PER_SECOND)


def rebuild_if_stale(key: str, stamp: float | None, rebuild: Callable[[], T]) -> T | None:
    """Return ``rebuild()`` when the copy's ``stamp`` has passed and this process may refresh it now.

    ``None`` means: answer with the copy (still fresh, another process is rebuilding it, or
    this process has used this second's refresh budget). ``rebuild`` stores the new copy
    itself; the lock is released whatever it raises.
    """
    if stamp is None or stamp > time.time() or not is_enabled():
        return None
    if not refresh_budget.take():
        return None
    lock_key = _lock_key(key)
    if not redis_cache().add(lock_key, 1, LOCK_TTL_SECONDS):
        return None
    try:
        return rebuild()
    finally:
        redis_cache().delete(lock_key)


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
    cache = redis_cache()
    if not known_missing:
        value = cache.get(key, MISSING)
        if value is not MISSING:
            metrics.cache_hits.labels(cache_type=cache_type).inc()
            return value
    metrics.cache_misses.labels(cache_type=cache_type).inc()
    if not lock:
        value = fetch()
        forget_near(key)
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
                forget_near(key)
                cache.set(key, value, jittered(ttl))
                return value
            finally:
                cache.delete(lock_key)
        time.sleep(LOCK_WAITS_SECONDS[attempt % len(LOCK_WAITS_SECONDS)])
        value = cache.get(key, MISSING)
        if value is not MISSING:
            return value
    logger.warning("cache lock wait exhausted for %s; reading the database", key)
    return fetch()


def cache_aside_many(
    ids: Iterable[int],
    *,
    key: Callable[[int], str],
    fetch: Callable[[list[int]], dict[int, Any]],
    ttl: int,
    cache_type: str,
    found: dict[str, Any] | None = None,
) -> dict[int, Any]:
    """Return ``{id: value}`` for ``ids``: one MGET, then one ``fetch(missing ids)`` for the misses, stored.

    A cached ``None`` is a hit (the caller says what it means); ids ``fetch`` leaves out are
    neither stored nor returned. No stampede lock: a batch is one query for its misses, and
    entries shared by many pages (cards) are rebuilt by whichever batch misses them first.
    ``found``: the caller already read these keys (with others, in one MGET); a key absent from it is a miss.
    """
    ids = list(dict.fromkeys(ids))
    if found is None:
        found = get_many([key(pk) for pk in ids])
    values = {pk: found[key(pk)] for pk in ids if key(pk) in found}
    missing = [pk for pk in ids if pk not in values]
    count_lookups(cache_type, hits=len(values), misses=len(missing))
    if missing:
        fetched = fetch(missing)
        set_many({key(pk): value for pk, value in fetched.items()}, ttl=ttl)
        values.update(fetched)
    return values
