"""Versioned write-through: a store older than the one in place is refused (carts)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from etsy import near_cache
from etsy.cache import batch
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

# KEYS[1]: the sequence key; ARGV[1]: its TTL. A version taken with nothing to delete: one command, which redis-py
# sends for a third of a pipeline's work.
_TAKE_VERSION = """
local version = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return version
"""


def take_version(sequence_key: str, *, ttl: int, delete: Sequence[str] = ()) -> int | None:
    """Return the next number of ``sequence_key`` (``None`` when the cache is off or Redis failed).

    The counter lives twice as long as the values it versions (every store extends it too), so
    it cannot restart below a version still stored. ``delete``: keys the same change made stale,
    deleted in the same round trip (and this process's near copies of them at once). In a commit's
    callbacks, the round trip also carries the Redis writes the callbacks before it queued (``etsy.cache.batch``).
    """
    if not is_enabled():
        return None
    backend = redis_cache()
    raw = backend.client.make_key(sequence_key)
    doomed = [backend.client.make_key(key) for key in delete]
    if delete:
        forget_near(*delete)

    def fill(pipe) -> None:
        batch.queue_script(pipe, _TAKE_VERSION, keys=[raw], args=[2 * ttl])
        if doomed:
            pipe.delete(*doomed)

    replies = batch.send(fill, what=f"take a version of {sequence_key}", wait=True)
    if replies is None:  # Redis failed: logged by the batch
        return None
    try:
        return int(batch.script_reply(replies[0], _TAKE_VERSION, keys=[raw], args=[2 * ttl]))
    except Exception:
        logger.warning("could not take a version of %s", sequence_key, exc_info=True)
        return None


def store_if_newer(
    values: dict[str, Any], *, version_key: str, sequence_key: str, version: int, ttl: int
) -> bool | None:
    """Store ``values`` (and ``version`` under ``version_key``) unless a newer version is stored.

    ``version`` was taken from ``sequence_key`` (``take_version``, or read by a reader before
    it read the database). One atomic script; returns whether it stored. Redis errors are
    logged and read as False. In a commit's callbacks the script is queued with the commit's other Redis
    writes (``etsy.cache.batch``) and None is returned.
    """
    if not is_enabled():
        return False
    backend = redis_cache()
    keys = [backend.client.make_key(key) for key in (version_key, sequence_key, *values)]
    near_cache.forget(keys)  # this process's copies; Redis tells the others
    try:
        args = [version, ttl] + [backend.client.encode(v) for v in values.values()]
    except Exception:
        logger.warning("could not store %s", version_key, exc_info=True)
        return False

    def fill(pipe) -> None:
        batch.queue_script(pipe, _STORE_IF_NEWER, keys=keys, args=args)

    def stored(replies: list) -> bool:
        return bool(batch.script_reply(replies[0], _STORE_IF_NEWER, keys=keys, args=args))

    if batch.is_collecting():
        batch.send(fill, what=f"store {version_key}", on_replies=stored)
        return None
    replies = batch.send(fill, what=f"store {version_key}")
    if replies is None:  # Redis failed: logged by the batch
        return False
    try:
        return stored(replies)
    except Exception:
        logger.warning("could not store %s", version_key, exc_info=True)
        return False
