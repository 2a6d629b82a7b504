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
# many copies expire at once, see REFRESH_SHARE). Invalidation deletes the key, so
# an edit or a sale never waits on this.
STALE_GRACE_SECONDS = 60


def fresh_until(ttl: int) -> float:
    """The time (``time.time()``) until which a copy stored now is fresh: ``ttl`` less the jitter."""
    return time.time() + jittered(ttl)


def set_with_grace(key: str, value: Any, *, ttl: int) -> None:
    """Store a copy stamped with :func:`fresh_until` (``ttl``); Redis keeps it ``STALE_GRACE_SECONDS`` longer."""
    store.set(key, value, ttl=ttl + STALE_GRACE_SECONDS, jitter=False)


# Refreshing stale copies is work a process can put off for up to the grace minute: when many
# expire together (a warm-up, a deploy, a flush), each process spends at most REFRESH_SHARE of
# its time on refreshes and answers the rest with their copies, instead of spending every request
# on rebuilds. The budget is time, not a count: a product page is rebuilt in 10-40 ms, a category
# page of a large catalog in up to 100 ms, and ten of those a second (the count this replaced) took
# most of a process in `make bench-web`'s expiry round. A copy becomes due for a refresh
# EARLY_REFRESH_SECONDS before its freshness ends, so a wave of copies built together is refreshed
# over two minutes (the last one before it goes stale, the grace minute after it) instead of one.
# Two processes at a tenth of their time rebuild about 24 s worth of pages in those two minutes,
# some 1,500 product pages; a copy not refreshed by the end of its grace is a plain miss.
REFRESH_SHARE = 0.1
REFRESH_BURST_SECONDS = 0.25
EARLY_REFRESH_SECONDS = 60


class _RefreshBudget:
    """A token bucket of seconds per process: ``share`` of the time passing, up to ``burst`` seconds saved."""

    def __init__(self, share: float = REFRESH_SHARE, burst: float = REFRESH_BURST_SECONDS):
        self.share = share
        self.burst = burst
        self.tokens = burst
        self.checked = time.monotonic()
        self._lock = threading.Lock()

    def refill(self) -> None:
        with self._lock:
            self.tokens, self.checked = self.burst, time.monotonic()

    def take(self) -> bool:
        """Whether a refresh may start now (what it costs is paid afterwards, with :meth:`spend`)."""
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.checked) * self.share)
            self.checked = now
            return self.tokens > 0

    def spend(self, seconds: float) -> None:
        with self._lock:
            self.tokens -= seconds


refresh_budget = _RefreshBudget()


def rebuild_if_stale(key: str, stamp: float | None, rebuild: Callable[[], T], *, early: float = 0) -> T | None:
    """Return ``rebuild()`` when the copy's ``stamp`` (less ``early`` seconds) has passed and this process may
    refresh it now.

    ``None`` means: answer with the copy (still fresh, another process is rebuilding it, or
    this process has spent its share of time on refreshes). ``rebuild`` stores the new copy
    itself; the lock is released whatever it raises.
    """
    if stamp is None or stamp - early > time.time() or not is_enabled():
        return None
    if not refresh_budget.take():
        return None
    lock_key = _lock_key(key)
    if not redis_cache().add(lock_key, 1, LOCK_TTL_SECONDS):
        return None
    started = time.monotonic()
    try:
        return rebuild()
    finally:
        refresh_budget.spend(time.monotonic() - started)
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
