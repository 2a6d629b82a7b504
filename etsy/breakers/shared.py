"""A breaker's rolling window and open/half-open state in Redis, one for every process (``SharedWindow``)."""

from __future__ import annotations

import os
import threading
from itertools import count

import redis
from django.conf import settings
from django.core.cache import caches
from redis.commands.core import Script

# An open state nobody has tried for a day is forgotten: the breaker starts closed, as a new process would.
OPENED_KEY_TTL_SECONDS = 24 * 3600


# KEYS: calls, failures (sorted sets of call times), opened (time it opened), trial (the trial's lease).
# ARGV: now, ok (1/0), cutoff (oldest time in the window), member, volume, threshold, trial token ('' for none),
#       window TTL (ms), opened TTL (s).
# Answers {'closed', ''} or {'open', opened-at}.
_RECORD = Script(
    None,
    b"""
local now = ARGV[1]
local ok = ARGV[2] == '1'
local opened = redis.call('GET', KEYS[3])
if ARGV[7] ~= '' and opened then
  local holder = redis.call('GET', KEYS[4])
  if holder == ARGV[7] or not holder then
    if holder then redis.call('DEL', KEYS[4]) end
    if ok then
      redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
      return {'closed', ''}
    end
    redis.call('SET', KEYS[3], now, 'EX', ARGV[9])
    return {'open', now}
  end
end
if opened then return {'open', opened} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
if not ok then
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[8])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
local total = redis.call('ZCARD', KEYS[1])
local failures = redis.call('ZCARD', KEYS[2])
if total >= tonumber(ARGV[5]) and failures / total >= tonumber(ARGV[6]) then
  redis.call('SET', KEYS[3], now, 'EX', ARGV[9])
  return {'open', now}
end
return {'closed', ''}
""",
)

# KEYS: opened, trial. ARGV: now, reset timeout (s), token, lease (ms).
# Answers {'closed', ''}, {'open', opened-at} (not yet due), {'trial', opened-at} (this caller makes the trial)
# or {'busy', opened-at} (another caller's trial is running).
_ADMIT = Script(
    None,
    b"""
local opened = redis.call('GET', KEYS[1])
if not opened then return {'closed', ''} end
if tonumber(ARGV[1]) < tonumber(opened) + tonumber(ARGV[2]) then return {'open', opened} end
if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return {'trial', opened} end
return {'busy', opened}
""",
)

_clients: dict[tuple[str, float], redis.Redis] = {}
_clients_lock = threading.Lock()
_tokens = count()


def _redis_client(alias: str) -> redis.Redis:
    """A client of the alias's Redis with the breakers' own short timeouts (the alias's own client behind Sentinel)."""
    config = settings.CACHES[alias]
    if config.get("OPTIONS", {}).get("CONNECTION_FACTORY"):
        return caches[alias].client.get_client(write=True)
    location = config["LOCATION"]
    if isinstance(location, list | tuple):
        location = location[0]
    timeout = settings.BREAKER_REDIS_TIMEOUT
    client = _clients.get((location, timeout))
    if client is None:
        with _clients_lock:
            client = _clients.get((location, timeout))
            if client is None:
                client = redis.Redis.from_url(location, socket_timeout=timeout, socket_connect_timeout=timeout)
                _clients[(location, timeout)] = client
    return client


def new_token() -> str:
    return f"{os.getpid()}:{os.urandom(4).hex()}:{next(_tokens)}"


def _decode(reply) -> tuple[str, float | None]:
    verdict, opened = reply
    return verdict.decode(), (float(opened) if opened else None)


class SharedWindow:
    """One breaker's rolling window and open/half-open state in Redis, one for every process.

    Keys, under the cache alias's prefix and one hash tag (a cluster keeps them on one node):
    ``{breaker:NAME}:calls`` and ``:failures`` (sorted sets of call times), ``:opened`` (when it opened),
    ``:trial`` (the lease of the one trial call). Every method is one round trip and raises Redis's errors.
    """

    def __init__(self, name: str, *, alias: str = "strict"):
        self.name = name
        self.alias = alias
        self._keys: tuple[str, tuple[str, str, str, str]] | None = None

    def keys(self) -> tuple[str, str, str, str]:
        prefix = settings.CACHES[self.alias].get("KEY_PREFIX", "")
        cached = self._keys
        if cached is None or cached[0] != prefix:
            make_key = caches[self.alias].make_key
            names = tuple(
                make_key(f"{{breaker:{self.name}}}:{part}") for part in ("calls", "failures", "opened", "trial")
            )
            cached = self._keys = (prefix, names)
        return cached[1]

    def record(
        self,
        *,
        ok: bool,
        now: float,
        window_seconds: float,
        volume_threshold: int,
        error_threshold: float,
        trial: str | None,
    ) -> tuple[str, float | None]:
        """Count one call's outcome (or settle the trial ``trial``); return ('closed'|'open', opened-at)."""
        args = (
            repr(now),
            1 if ok else 0,
            repr(now - window_seconds),
            new_token(),
            volume_threshold,
            repr(error_threshold),
            trial or "",
            int(window_seconds * 1000) + 1000,
            OPENED_KEY_TTL_SECONDS,
        )
        return _decode(_RECORD(keys=self.keys(), args=args, client=_redis_client(self.alias)))

    def admit(self, *, now: float, reset_timeout: float, token: str, lease_seconds: float) -> tuple[str, float | None]:
        """Ask for the trial call; return ('closed'|'open'|'trial'|'busy', opened-at)."""
        _, _, opened, trial = self.keys()
        args = (repr(now), repr(reset_timeout), token, max(1, int(lease_seconds * 1000)))
        return _decode(_ADMIT(keys=(opened, trial), args=args, client=_redis_client(self.alias)))

    def peek(self) -> tuple[float | None, bool]:
        """Return (opened-at or None, whether a trial call is running)."""
        _, _, opened, trial = self.keys()
        opened_at, lease = _redis_client(self.alias).mget(opened, trial)
        return (float(opened_at) if opened_at else None), lease is not None

    def open(self, *, now: float) -> None:
        _redis_client(self.alias).set(self.keys()[2], repr(now), ex=OPENED_KEY_TTL_SECONDS)

    def clear(self) -> None:
        _redis_client(self.alias).delete(*self.keys())
