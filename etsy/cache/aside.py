"""Cache-aside with a stampede lock, and stale copies served while a background thread refreshes them.

Every cached read of page data goes through :func:`cache_aside`: try Redis, on a miss take a
short lock (``SET lock:<key> 1 NX EX 5``) so one process rebuilds the value while the others
look again after a few milliseconds, then less often (1 s in all, then they read the database
themselves). A Redis failure at any step degrades to the database.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol, TypeVar, runtime_checkable

from django.conf import settings
from django.db import close_old_connections, connections

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


def build_kind(key: str) -> str:
    """What a cached page's build is counted under: its key's first two parts (``page:category``, ``page:product``)."""
    return ":".join(key.split(":")[:2])


@contextmanager
def counting_build(key: str, *, by: str, builds: int = 1) -> Iterator[None]:
    """Count one build of ``key`` by ``by`` (``request`` or ``refresher``), its database queries, its time and its
    thread's CPU time (which the machine's other load hardly moves); ``builds``: a batch of pages of ``key``'s kind.

    The queries are this thread's, on every database alias (a refresher thread has its own connections).
    """
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    kind = build_kind(key)
    started, cpu_started = time.monotonic(), time.thread_time()
    try:
        with ExitStack() as stack:
            for conn in connections.all():
                stack.enter_context(conn.execute_wrapper(count))
            yield
    finally:
        metrics.page_builds.labels(kind=kind, by=by).inc(builds)
        metrics.page_build_queries.labels(kind=kind, by=by).inc(queries)
        metrics.page_build_seconds.labels(kind=kind, by=by).inc(time.monotonic() - started)
        metrics.page_build_cpu_seconds.labels(kind=kind, by=by).inc(time.thread_time() - cpu_started)


# --- serve the old copy while one process refreshes it -------------------------------------
# A hot page that expires has readers arriving while it is rebuilt. With plain cache-aside they
# wait on the stampede lock, and a sync worker that waits serves nobody. A copy kept a little
# past its freshness lets them answer with it while the lock holder rebuilds: the page a reader
# sees is never older than its TTL plus STALE_GRACE_SECONDS (usually one rebuild; longer while
# many copies expire at once, see CACHE_REFRESH_SHARE). Invalidation deletes the key, so
# an edit or a sale never waits on this.
STALE_GRACE_SECONDS = 60


def fresh_until(ttl: int) -> float:
    """The time (``time.time()``) until which a copy stored now is fresh: ``ttl`` less the jitter."""
    return time.time() + jittered(ttl)


def set_with_grace(key: str, value: Any, *, ttl: int) -> None:
    """Store a copy stamped with :func:`fresh_until` (``ttl``); Redis keeps it ``STALE_GRACE_SECONDS`` longer."""
    store.set(key, value, ttl=ttl + STALE_GRACE_SECONDS, jitter=False)


def set_many_with_grace(values: dict[str, Any], *, ttl: int) -> None:
    """:func:`set_with_grace` of several copies (each stamped by the caller), in one round trip."""
    if is_enabled() and values:
        forget_near(*values)
        redis_cache().set_many(values, ttl + STALE_GRACE_SECONDS)


# Refreshing stale copies is work a process can put off for up to the grace minute: when many
# expire together (a warm-up, a deploy, a flush), each process's refresher thread spends at most
# CACHE_REFRESH_SHARE of its time on refreshes while requests answer with the copies. (Rebuilt inline by
# the reader that found them due, the refreshes all fell on the requests of the page that expired;
# spread by the thread, they cost every page the process serves a little: see the README.) The
# budget is time, not a count: a product page is rebuilt in 10-40 ms, a category page of a large
# catalog in up to 100 ms. A copy becomes due for a refresh EARLY_REFRESH_SECONDS before its
# freshness ends, so a wave of copies built together is refreshed over two minutes (the last one
# before it goes stale, the grace minute after it) instead of one. The share is
# settings.CACHE_REFRESH_SHARE, a twentieth: a process checks about 6 s worth of pages in those two
# minutes, some 3,000 product pages of a 100k catalog (1.9 ms each under load); a copy not refreshed
# by the end of its grace is a plain miss. (A tenth checked the wave twice as fast, and cost the
# requests of the minute it fell in twice as much: the product page's expiry round at 100k fell to
# 73-77 % of its first round's throughput, 91 % at a twentieth, with no copy left to a miss.)
REFRESH_BURST_SECONDS = 0.25
EARLY_REFRESH_SECONDS = 60


class _RefreshBudget:
    """A token bucket of seconds per process: ``share`` of the time passing, up to ``burst`` seconds saved."""

    def __init__(self, share: float | None = None, burst: float = REFRESH_BURST_SECONDS):
        self.share = share  # None: settings.CACHE_REFRESH_SHARE
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
            share = self.share if self.share is not None else settings.CACHE_REFRESH_SHARE
            self.tokens = min(self.burst, self.tokens + (now - self.checked) * share)
            self.checked = now
            return self.tokens > 0

    def spend(self, seconds: float) -> None:
        with self._lock:
            self.tokens -= seconds


refresh_budget = _RefreshBudget()

# The most pending refreshes of one batch group run together: a batch is one piece of the budget's work.
MAX_BATCH = 24


@runtime_checkable
class BatchedRebuild(Protocol):
    """A rebuild the refresher may run with the other pending ones of its ``batch_group`` (``run_batch``).

    ``run_batch(rebuilds)`` does what calling each of them would (``self`` among them, all of one group) and keeps
    a failure of one from dropping the others.
    """

    batch_group: Hashable

    def __call__(self) -> Any: ...

    def run_batch(self, rebuilds: list[BatchedRebuild]) -> None: ...


class _Refresher:
    """This process's refresher: readers queue the stale copies they answered with, one daemon thread rebuilds them.

    A rebuild never runs on a request's path (the reader answers with the copy at once), and the thread
    spends at most ``refresh_budget``'s share of the process's time: when many copies go stale together,
    the work is spread over the following minutes, across every page the process serves, instead of
    landing on the requests of the page that expired. One key is queued once; the queue is bounded (a
    copy not refreshed by the end of its grace is a plain miss, rebuilt under the stampede lock). A
    :class:`BatchedRebuild` is run with the others of its group pending then (up to ``MAX_BATCH``).
    ``background=False`` (the test suite) leaves the queue to :meth:`run_pending`.
    """

    def __init__(self, *, max_pending: int = 5000):
        self.max_pending = max_pending
        self.background = True
        self._pending: OrderedDict[str, Callable[[], Any]] = OrderedDict()
        self._groups: dict[Hashable, dict[str, None]] = {}  # a batch group's pending keys, in their order
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, key: str, rebuild: Callable[[], Any]) -> bool:
        """Queue ``rebuild`` of ``key`` unless it is queued already or the queue is full; whether it was queued."""
        with self._cv:
            if self._pid != os.getpid():  # a forked worker starts with an empty queue and its own thread
                self._pending.clear()
                self._groups.clear()
                self._thread = None
                self._pid = os.getpid()
            if key in self._pending or len(self._pending) >= self.max_pending:
                return False
            self._pending[key] = rebuild
            if isinstance(rebuild, BatchedRebuild):
                self._groups.setdefault(rebuild.batch_group, {})[key] = None
            if self.background and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._loop, name="cache-refresher", daemon=True)
                self._thread.start()
            self._cv.notify()
            return True

    def pending(self) -> int:
        with self._cv:
            return len(self._pending)

    def clear(self) -> None:
        with self._cv:
            self._pending.clear()
            self._groups.clear()

    def _take(self) -> list[tuple[str, Callable[[], Any]]]:
        """The next pending refresh, with the others of its batch group (under ``_cv``)."""
        key, rebuild = self._pending.popitem(last=False)
        if not isinstance(rebuild, BatchedRebuild):
            return [(key, rebuild)]
        group = self._groups.get(rebuild.batch_group, {})
        group.pop(key, None)
        taken = [(key, rebuild)]
        while group and len(taken) < MAX_BATCH:
            other = next(iter(group))
            del group[other]
            taken.append((other, self._pending.pop(other)))
        if not group:
            self._groups.pop(rebuild.batch_group, None)
        return taken

    def run_pending(self) -> int:
        """Rebuild what is queued, in this thread, while the budget allows; the number rebuilt (tests, shutdown)."""
        done = 0
        while True:
            with self._cv:
                if not self._pending or not refresh_budget.take():
                    return done
                taken = self._take()
            done += self._refresh_batch(taken)

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._pending:
                    self._cv.wait()
            while not refresh_budget.take():
                time.sleep(REFRESH_PAUSE_SECONDS)
            with self._cv:
                if not self._pending:
                    continue
                taken = self._take()
            self._refresh_batch(taken)
            close_old_connections()  # this thread's own connection, past its age or broken

    @staticmethod
    def _refresh(key: str, rebuild: Callable[[], Any], *, by: str = "refresher") -> int:
        lock_key = _lock_key(key)
        if not redis_cache().add(lock_key, 1, LOCK_TTL_SECONDS):  # another process is at it (or Redis is down)
            return 0
        started = time.monotonic()
        try:
            with counting_build(key, by=by):
                rebuild()
            return 1
        except Exception:  # the copy stays until its grace ends; the next reader queues it again
            logger.warning("background refresh of %s failed", key, exc_info=True)
            return 0
        finally:
            refresh_budget.spend(time.monotonic() - started)
            redis_cache().delete(lock_key)

    @staticmethod
    def _refresh_batch(taken: list[tuple[str, Callable[[], Any]]], *, by: str = "refresher") -> int:
        """Run ``taken`` (one refresh, or a batch group's) with the keys no other process is refreshing; how many."""
        if len(taken) == 1:
            return _Refresher._refresh(*taken[0], by=by)
        cache = redis_cache()
        marked = store.ensure_markers(*(_lock_key(key) for key, _ in taken), ttl=LOCK_TTL_SECONDS)  # one round trip
        locked = [item for item, (created, _) in zip(taken, marked, strict=True) if created]
        if not locked:  # other processes are at them (or Redis is down)
            return 0
        started = time.monotonic()
        try:
            with counting_build(locked[0][0], by=by, builds=len(locked)):
                if len(locked) == 1:
                    locked[0][1]()
                else:
                    locked[0][1].run_batch([rebuild for _, rebuild in locked])
            return len(locked)
        except Exception:  # the copies stay until their grace ends; the next readers queue them again
            logger.warning("background refresh of %s and %d more failed", locked[0][0], len(locked) - 1, exc_info=True)
            return 0
        finally:
            refresh_budget.spend(time.monotonic() - started)
            cache.delete_many([_lock_key(key) for key, _ in locked])


refresher = _Refresher()
# How long the refresher sleeps when its share of time is spent (the budget refills at CACHE_REFRESH_SHARE).
REFRESH_PAUSE_SECONDS = 0.05


def refresh_when_stale(key: str, stamp: float | None, rebuild: Callable[[], Any], *, early: float = 0) -> bool:
    """Queue ``rebuild`` for the refresher when the copy's ``stamp`` (less ``early`` seconds) has passed.

    The caller answers with its copy either way. ``rebuild`` stores the new copy itself and must not
    use the request's visitor (it runs after the response, in another thread). Whether it was queued
    (with ``CACHE_REFRESH_IN_BACKGROUND`` off: rebuilt now, by this request, when the budget allows).
    """
    if stamp is None or stamp - early > time.time() or not is_enabled():
        return False
    if not getattr(settings, "CACHE_REFRESH_IN_BACKGROUND", True):  # the reader rebuilds it, within the budget
        return refresh_budget.take() and bool(refresher._refresh(key, rebuild, by="request"))
    return refresher.submit(key, rebuild)


def _lock_key(key: str) -> str:
    return f"lock:{key}"


def cache_aside(
    key: str,
    fetch: Callable[[], T],
    *,
    ttl: int,
    cache_type: str,
    known_missing: bool = False,
    lock: bool = True,
    jitter: bool = True,
) -> T:
    """Return the cached value of ``key``, or build it with ``fetch`` under a stampede lock.

    Only one process runs ``fetch`` for a missing key; the others look again after 5 ms,
    then less often (``LOCK_WAITS_SECONDS``, 1 s in all), then fetch themselves. A Redis failure at
    any step degrades to calling ``fetch`` (the database stays the source of truth).
    ``known_missing``: the caller just read the key and found nothing (skip the read).
    ``lock=False`` for one-row primary-key reads, where a stampede costs less than the lock.
    ``jitter=False`` for a copy that carries its own jittered freshness stamp and is kept ``ttl`` exactly (its
    freshness plus ``STALE_GRACE_SECONDS``, as :func:`set_with_grace` keeps the refresher's copies).
    """
    stored_ttl = (lambda: jittered(ttl)) if jitter else (lambda: ttl)
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
        cache.set(key, value, stored_ttl())
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
                cache.set(key, value, stored_ttl())
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
