"""A per-process copy of the hottest cache entries, kept exact by Redis's own invalidation messages.

Every product page view reads the same two entries: the page record and the stock count. On
a warm cache that Redis round trip is most of what a product page costs beyond a bare Django
view (measured with ``make bench-web``: skipping it took a visitor's product page from about
50 % to about 70 % of the bare view's throughput). This module keeps those entries in the
worker process as well, and asks Redis to say when they change: one connection per process
turns on client-side caching in broadcast mode (``CLIENT TRACKING on BCAST PREFIX ...``, RESP3),
and Redis pushes the name of every key under the tracked prefixes that is written, deleted,
expired or flushed, by any process. A listener thread drops those local copies.

The rules that keep a local copy no staler than Redis:

* a copy is stored only if no invalidation arrived between the moment the caller started
  its Redis read (:func:`snapshot`) and the store, so a read that raced a write cannot
  re-insert the old value after its invalidation was processed;
* each copy also lives no longer than the key's remaining TTL in Redis (read with PTTL);
* while the listener is not connected and tracking, nothing is served or stored locally, and
  every copy is dropped when it disconnects (a missed message cannot leave a stale one);
* this process's own writes drop its copies at once (:func:`forget`), so a redirect after a
  write never waits for the message.

Other processes see a write after Redis delivers the message to them, a fraction of a
millisecond on one host. Nothing here is used when the cache is off (``CACHE_ENABLED=false``)
or ``NEAR_CACHE_ENABLED=false``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.core.cache import caches

from etsy import metrics

logger = logging.getLogger(__name__)

# Logical key prefixes (etsy.cache's names) kept in each process. Under "account:" Redis holds
# only a marker; the signed-in account it stands for never leaves the process (accounts.backends).
# A signed-in buyer's header and buy box read "favorites:<user>", "cart:{<user>}:count" and
# "messages:<user>:unread": kept too, so a warm signed-in product page makes no round trip. Every
# key is one buyer's, so a copy is only ever read for that buyer, and each is dropped by the write
# that changes it (favorites and unread deleted on change, the cart written through), wherever it ran.
# The cart page reads the buyer's cart lines ("cart:"), the product and shop cards its lines name
# ("product:", "shop:") and the category tree's build id: kept too, the warm cart page makes no round trip.
TRACKED_PREFIXES = (
    "page:product:",
    "inventory:",
    "account:",
    "favorites:",
    "cart:",
    "messages:",
    "product:",
    "shop:",
    "category:tree:build",
)


def tracked(keys) -> tuple[str, ...]:
    """The logical keys among ``keys`` that a process may keep (under ``TRACKED_PREFIXES``)."""
    return tuple(k for k in keys if k.startswith(TRACKED_PREFIXES))


# Signed-in visitors' sessions (etsy.sessions), kept when the sessions live in the cache's Redis
# (the one this listener watches): Django's cached_db key prefix, under the same key prefix.
SESSION_PREFIX = "django.contrib.sessions.cached_db"
RECONNECT_DELAYS_SECONDS = (0.1, 0.5, 1, 2, 5)
IDLE_PING_SECONDS = 5.0


class NearCache:
    """One process's local copies and the listener that keeps them honest."""

    def __init__(self, *, redis_url: str, raw_prefixes: tuple[str, ...], max_entries: int):
        self.redis_url = redis_url
        self.raw_prefixes = raw_prefixes
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()
        # Every invalidation takes the next number; a read may keep a key only if the key was
        # not invalidated after the read began. Below the floor nothing is known (a flush, a
        # disconnect, or the record of recent invalidations was pruned): no read from before it is kept.
        self._sequence = 0
        self._floor = 0
        self._invalidated: dict[str, int] = {}
        self._tracking = False
        self._stopped = threading.Event()
        self._connection = None
        self.client_id: int | None = None  # the listener connection's id in Redis (CLIENT LIST)
        self._barriers: dict[str, threading.Event] = {}
        self._thread = threading.Thread(target=self._listen, name="near-cache-invalidation", daemon=True)

    # --- reads and stores (request threads) ---------------------------------------------------

    @property
    def tracking(self) -> bool:
        return self._tracking

    def snapshot(self) -> int:
        """Take before reading Redis; pass to :meth:`store` with what the read returned."""
        return self._sequence

    def lookup(self, raw_keys) -> dict[str, Any]:
        if not self._tracking:
            return {}
        now = time.monotonic()
        found = {}
        with self._lock:
            for raw in raw_keys:
                entry = self._entries.get(raw)
                if entry is None:
                    continue
                if entry[1] <= now:
                    del self._entries[raw]
                    continue
                found[raw] = entry[0]
        return found

    def store(self, values: dict[str, tuple[Any, int]], since: int) -> None:
        """Keep ``{raw_key: (value, pttl_ms)}``, each unless it was invalidated after ``since``."""
        if not values or not self._tracking:
            return
        now = time.monotonic()
        with self._lock:
            if since < self._floor or not self._tracking:
                return
            for raw, (value, pttl_ms) in values.items():
                if pttl_ms <= 0 or self._invalidated.get(raw, -1) > since:  # gone, no expiry, or raced a write
                    continue
                self._entries[raw] = (value, now + pttl_ms / 1000)
                self._entries.move_to_end(raw)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, raw_keys) -> None:
        with self._lock:
            self._drop(raw_keys)

    def clear(self) -> None:
        with self._lock:
            self._drop_all()

    def _drop(self, raw_keys) -> None:
        self._sequence += 1
        for raw in raw_keys:
            self._entries.pop(raw, None)
            self._invalidated[raw] = self._sequence
        if len(self._invalidated) > 10 * self.max_entries:  # forget the record, not the copies
            self._floor = self._sequence
            self._invalidated.clear()

    def _drop_all(self) -> None:
        self._sequence += 1
        self._floor = self._sequence
        self._invalidated.clear()
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # --- the listener ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._set_tracking(False)
        conn = self._connection
        if conn is not None:
            conn.disconnect()
        self._thread.join(timeout=5)

    def _set_tracking(self, on: bool) -> None:
        with self._lock:
            self._drop_all()
            self._tracking = on

    def _on_invalidate(self, message) -> None:
        keys = message[1] if len(message) > 1 else None
        if keys is None:  # FLUSHDB / FLUSHALL
            self.clear()
            return
        keys = [raw.decode() if isinstance(raw, bytes) else raw for raw in keys]
        with self._lock:
            self._drop(keys)
        for raw in keys:
            if raw in self._barriers:
                self._barriers[raw].set()
        metrics.near_cache_invalidations.inc(len(keys))

    def sync(self, timeout: float = 2.0) -> bool:
        """Wait until every invalidation Redis sent before this call has been applied here.

        Writes a key of its own under a tracked prefix: Redis sends messages in order, so when
        that key's message arrives, all earlier ones have. For callers that changed Redis
        behind this process's back (another process's write, in a test). False on timeout.
        """
        deadline = time.monotonic() + timeout
        while not self._tracking:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        raw = f"{self.raw_prefixes[0]}__sync__:{uuid.uuid4().hex}"
        arrived = self._barriers[raw] = threading.Event()
        try:
            caches["strict"].client.get_client(write=True).set(raw, 1, px=int(timeout * 1000))
            return arrived.wait(max(0.0, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - Redis is down: nothing can be confirmed
            return False
        finally:
            self._barriers.pop(raw, None)

    def _connect(self):
        import redis

        pool = redis.ConnectionPool.from_url(self.redis_url, protocol=3, socket_connect_timeout=1, socket_timeout=10)
        conn = pool.make_connection()
        try:
            conn.connect()
            # A dropped connection must not come back silently (redis-py reconnects on the next
            # read) without tracking: any later connect ends this one's life.
            conn.register_connect_callback(self._reconnected)
            # redis-py's own client-side cache registers its handler the same way; pushes between
            # replies are passed to it by every read on this connection.
            conn._parser.set_invalidation_push_handler(self._on_invalidate)
            args = ["CLIENT", "TRACKING", "on", "BCAST"]
            for prefix in self.raw_prefixes:
                args += ["PREFIX", prefix]
            conn.send_command(*args)
            if conn.read_response() not in (b"OK", "OK"):
                raise ConnectionError("CLIENT TRACKING was refused")
            conn.send_command("CLIENT", "ID")
            self.client_id = int(conn.read_response())
        except Exception:
            conn.disconnect()
            raise
        return conn

    def _reconnected(self, connection) -> None:
        self._set_tracking(False)
        raise ConnectionError("the invalidation connection was re-opened without tracking")

    def _listen(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                self._connection = self._connect()
                self._set_tracking(True)
                failures = 0
                while not self._stopped.is_set():
                    if self._connection.can_read(timeout=IDLE_PING_SECONDS):
                        self._connection.read_response(push_request=True)
                    else:  # a quiet connection is checked, so a dead one is noticed within seconds
                        self._connection.send_command("PING")
                        self._connection.read_response()
            except Exception as exc:  # noqa: BLE001 - any failure means messages may have been missed
                self._set_tracking(False)
                if self._stopped.is_set():
                    return
                logger.warning("near cache: invalidation connection lost (%s); local copies off until it is back", exc)
                if self._connection is not None:
                    self._connection.disconnect()
                self._stopped.wait(RECONNECT_DELAYS_SECONDS[min(failures, len(RECONNECT_DELAYS_SECONDS) - 1)])
                failures += 1


_instance: NearCache | None = None
_instance_pid: int | None = None
_instance_lock = threading.Lock()


def is_enabled() -> bool:
    return bool(getattr(settings, "CACHE_ENABLED", True) and getattr(settings, "NEAR_CACHE_ENABLED", True))


def tracks_sessions() -> bool:
    """Whether sessions are kept here: stored in the watched Redis, with the cache's key prefix."""
    sessions = settings.CACHES.get(getattr(settings, "SESSION_CACHE_ALIAS", "default"), {})
    default = settings.CACHES["default"]
    return (
        getattr(settings, "SESSION_ENGINE", "") == "etsy.sessions"
        and getattr(settings, "REDIS_SESSIONS_URL", None) == settings.REDIS_CACHE_URL
        and sessions.get("KEY_PREFIX") == default.get("KEY_PREFIX")
    )


def get() -> NearCache | None:
    """This process's near cache, started on first use (after a fork, the child starts its own)."""
    global _instance, _instance_pid
    if not is_enabled():
        return None
    pid = os.getpid()
    if _instance is not None and _instance_pid == pid:
        return _instance
    with _instance_lock:
        if _instance is None or _instance_pid != pid:
            backend = caches["default"]
            prefixes = TRACKED_PREFIXES + ((SESSION_PREFIX,) if tracks_sessions() else ())
            _instance = NearCache(
                redis_url=settings.REDIS_CACHE_URL,
                raw_prefixes=tuple(backend.make_key(p) for p in prefixes),
                max_entries=settings.NEAR_CACHE_MAX_ENTRIES,
            )
            _instance_pid = pid
            _instance.start()
    return _instance


def is_started() -> bool:
    """Whether this process has a near cache (only web processes that served a product page do)."""
    return _instance is not None and _instance_pid == os.getpid()


def forget(raw_keys) -> None:
    """Drop this process's copies of ``raw_keys`` now (the process has just written them)."""
    near = _instance
    if near is not None and _instance_pid == os.getpid():
        near.forget(raw_keys)


def clear() -> None:
    near = _instance
    if near is not None and _instance_pid == os.getpid():
        near.clear()


def sync(timeout: float = 2.0) -> bool:
    """Apply every invalidation Redis has sent so far (see :meth:`NearCache.sync`); True when off."""
    near = get()
    return True if near is None else near.sync(timeout)


def reset() -> None:
    """Stop this process's listener and forget the instance (tests that change settings)."""
    global _instance, _instance_pid
    with _instance_lock:
        if _instance is not None and _instance_pid == os.getpid():
            _instance.stop()
        _instance, _instance_pid = None, None
