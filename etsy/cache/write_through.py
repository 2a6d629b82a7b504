"""Versioned write-through: a store older than the one in place is refused (carts)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from etsy import near_cache
from etsy.cache.store import forget_near, is_enabled, redis_cache

logger = logging.getLogger(__name__)

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

# KEYS[1]: the sequence key; ARGV[1]: its TTL. A version taken with nothing to delete: one command, which redis-py
# sends for a third of a pipeline's work.
_TAKE_VERSION = """
local version = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return version
"""
_take_script = None


def take_version(sequence_key: str, *, ttl: int, delete: Sequence[str] = ()) -> int | None:
    """Return the next number of ``sequence_key`` (``None`` when the cache is off or Redis failed).

    The counter lives twice as long as the values it versions (every store extends it too), so
    it cannot restart below a version still stored. ``delete``: keys the same change made stale,
    deleted in the same round trip (and this process's near copies of them at once).
    """
    global _take_script
    if not is_enabled():
        return None
    backend = redis_cache()
    try:
        client = backend.client.get_client(write=True)
        raw = backend.client.make_key(sequence_key)
        if not delete:
            if _take_script is None:
                _take_script = client.register_script(_TAKE_VERSION)
            return int(_take_script(keys=[raw], args=[2 * ttl], client=client))
        pipe = client.pipeline(transaction=False)
        pipe.incr(raw)
        pipe.expire(raw, 2 * ttl)
        if delete:
            forget_near(*delete)
            pipe.delete(*(backend.client.make_key(key) for key in delete))
        version = pipe.execute()[0]
        return int(version)
    except Exception:
        logger.warning("could not take a version of %s", sequence_key, exc_info=True)
        return None


def store_if_newer(values: dict[str, Any], *, version_key: str, sequence_key: str, version: int, ttl: int) -> bool:
    """Store ``values`` (and ``version`` under ``version_key``) unless a newer version is stored.

    ``version`` was taken from ``sequence_key`` (``take_version``, or read by a reader before
    it read the database). One atomic script; returns whether it stored. Redis errors are
    logged and read as False.
    """
    global _store_script
    if not is_enabled():
        return False
    backend = redis_cache()
    keys = [backend.client.make_key(key) for key in (version_key, sequence_key, *values)]
    near_cache.forget(keys)  # this process's copies; Redis tells the others
    try:
        client = backend.client.get_client(write=True)
        if _store_script is None:
            _store_script = client.register_script(_STORE_IF_NEWER)
        args = [version, ttl] + [backend.client.encode(v) for v in values.values()]
        return bool(_store_script(keys=keys, args=args, client=client))
    except Exception:
        logger.warning("could not store %s", version_key, exc_info=True)
        return False
