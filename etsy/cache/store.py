"""Plain reads, writes and deletes of the "default" cache alias, which swallows Redis errors.

With Redis down every read here answers "not cached" and every write is a no-op, so callers fall
through to the database. ``CACHE_ENABLED=false`` bypasses the cache entirely. This process's
near copies (``etsy.near_cache``) of any key written or deleted here are dropped at once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches

from etsy import metrics, near_cache
from etsy.cache import batch
from etsy.cache.keys import TTL_JITTER

logger = logging.getLogger(__name__)

MISSING = object()


def is_enabled() -> bool:
    return bool(getattr(settings, "CACHE_ENABLED", True))


def redis_cache():
    return caches["default"]


def get(key: str, *, cache_type: str) -> Any:
    """Return the cached value or ``None``; count the hit or miss."""
    if not is_enabled():
        return None
    value = redis_cache().get(key, MISSING)
    if value is MISSING:
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
    return redis_cache().get_many(keys)


def jittered(ttl: int) -> int:
    """Return ``ttl`` less a random part of up to ``TTL_JITTER`` of it."""
    return max(1, ttl - random.randint(0, int(ttl * TTL_JITTER)))


def set(key: str, value: Any, *, ttl: int, jitter: bool = True) -> None:  # noqa: A001 - the module is the namespace
    if is_enabled():
        forget_near(key)
        redis_cache().set(key, value, jittered(ttl) if jitter else ttl)


def raw_key(key: str) -> str:
    """The key as stored in Redis (prefix and version added)."""
    return redis_cache().make_key(key)


def ensure_marker(key: str, *, ttl: int) -> tuple[bool, int]:
    """Create ``key`` (value 1, ``ttl`` seconds) unless it exists; return (created, its remaining ms).

    One round trip. (False, 0) when the cache is off or Redis failed.
    """
    return ensure_markers(key, ttl=ttl)[0]


def ensure_markers(*keys: str, ttl: int) -> list[tuple[bool, int]]:
    """``ensure_marker`` for each of ``keys``, in one round trip."""
    if not is_enabled():
        return [(False, 0)] * len(keys)
    try:
        client = redis_cache().client.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.set(raw_key(key), 1, nx=True, ex=ttl)
            pipe.pttl(raw_key(key))
        replies = pipe.execute()
        return [(bool(replies[i]), int(replies[i + 1])) for i in range(0, len(replies), 2)]
    except Exception:
        logger.warning("could not mark %s", keys, exc_info=True)
        return [(False, 0)] * len(keys)


def forget_near(*keys: str) -> None:
    """Drop this process's near copies of keys it is about to write (Redis tells the other processes)."""
    if near_cache.is_started():
        near_cache.forget([redis_cache().make_key(k) for k in keys])


def set_many(values: dict[str, Any], *, ttl: int) -> None:
    if is_enabled() and values:
        forget_near(*values)
        redis_cache().set_many(values, jittered(ttl))


# --- generations (listing invalidation without key scans) -------------------------


def get_generations(keys: list[str]) -> list[int]:
    """Return the generation number of each key (0 when unknown), in one round trip."""
    if not is_enabled() or not keys:
        return [0] * len(keys)
    found = redis_cache().get_many(keys)
    return [int(found.get(k) or 0) for k in keys]


def bump_generations(keys: Iterable[str]) -> None:
    """Move each generation on by one, in one round trip (INCR starts an unknown key at 1: it read as 0).

    Generations are plain integers, which django-redis stores unencoded, so Redis's own INCR on the raw key
    is what ``cache.incr`` did with one script call per key. A Redis error is logged, never raised (``invalidate``).
    """
    invalidate(generations=keys)


# --- invalidation -----------------------------------------------------------------


def delete(*keys: str) -> None:
    if keys:
        forget_near(*keys)
        redis_cache().delete_many(list(keys))


# KEYS: the keys to delete, the sets (their members deleted with them), the generations to move on; ARGV: how many
# keys, how many sets. The members are read and deleted in one command (they are keys of this Redis: no cluster).
# Returns the members, so that this process drops its near copies of them.
_INVALIDATE_SETS = """
local nkeys, nsets = tonumber(ARGV[1]), tonumber(ARGV[2])
local doomed, members = {}, {}
for i = 1, nkeys + nsets do doomed[#doomed + 1] = KEYS[i] end
for i = nkeys + 1, nkeys + nsets do
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    doomed[#doomed + 1] = member
    members[#members + 1] = member
  end
end
for i = 1, #doomed, 1000 do redis.call('DEL', unpack(doomed, i, math.min(i + 999, #doomed))) end
for i = nkeys + nsets + 1, #KEYS do redis.call('INCR', KEYS[i]) end
return members
"""


def invalidate(*, keys: Iterable[str] = (), sets: Iterable[str] = (), generations: Iterable[str] = ()) -> None:
    """Delete ``keys`` and every key recorded under each of ``sets`` (``add_to_set``; the sets too), and move
    ``generations`` on by one, in one round trip (a script when there are ``sets``: their members read and deleted
    in one command): ``delete``, ``delete_set_members`` and ``bump_generations`` together. In a commit's callbacks,
    sent with the commit's other Redis writes (``etsy.cache.batch``). A Redis error is logged, never raised."""
    keys, sets, generations = list(keys), list(sets), list(generations)
    if not (keys or sets or generations):
        return
    if keys:
        forget_near(*keys)
    make_key = redis_cache().client.make_key
    doomed = [make_key(key) for key in keys]
    raw_sets = [make_key(key) for key in sets]
    raw_generations = [make_key(key) for key in generations]
    script_keys = [*doomed, *raw_sets, *raw_generations]
    script_args = [len(doomed), len(raw_sets)]

    def fill(pipe) -> None:
        if raw_sets:
            batch.queue_script(pipe, _INVALIDATE_SETS, keys=script_keys, args=script_args)
            return
        if doomed:
            pipe.delete(*doomed)
        for key in raw_generations:
            pipe.incr(key)

    def forget_members(replies: list) -> None:
        if not raw_sets:
            return
        members = batch.script_reply(replies[0], _INVALIDATE_SETS, keys=script_keys, args=script_args)
        near_cache.forget([member.decode() for member in members])

    batch.send(fill, what=f"invalidate {keys}, the keys of {sets}, {generations}", on_replies=forget_members)


def delete_pattern(pattern: str) -> None:
    near_cache.clear()
    redis_cache().delete_pattern(pattern)


def add_to_set(set_key: str, member: str, *, ttl: int) -> None:
    """Remember ``member`` (a cache key) under ``set_key`` so it can be dropped with the set."""
    add_many_to_sets([(set_key, member)], ttl=ttl)


def add_many_to_sets(members: list[tuple[str, str]], *, ttl: int) -> None:
    """:func:`add_to_set` of each ``(set_key, member)``, in one round trip (a Redis error is logged)."""
    if not is_enabled() or not members:
        return
    backend = redis_cache()
    try:
        client = backend.client.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for set_key in dict.fromkeys(set_key for set_key, _ in members):
            raw = backend.client.make_key(set_key)
            pipe.sadd(raw, *(backend.client.make_key(m) for k, m in members if k == set_key))
            pipe.expire(raw, ttl)
        pipe.execute()
    except Exception:
        logger.warning("could not record %d keys in their sets", len(members), exc_info=True)


def delete_set_members(set_key: str) -> None:
    """Delete every key recorded under ``set_key``, and the set (a Redis error is logged: ``invalidate``)."""
    invalidate(sets=[set_key])
