"""Throttles whose rates are read from settings on each request (DRF's stock classes
freeze the rate table at import, which also makes them impossible to retune in tests).
State lives in the default cache's Redis: each client's recent requests in one sorted set,
checked and recorded by one script (one round trip; DRF's classes read the pickled history and
wrote it back: two, and two requests at once could both pass the last free place)."""

from __future__ import annotations

import logging
import secrets

from django.core.cache import cache as default_cache
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)

# KEYS[1]: the client's request times (a sorted set); ARGV: now, window (s), limit, a unique member.
# Drops the times past the window, as DRF's history does (a time exactly one window old is gone), then
# records this request if a place is free. Returns {allowed, requests in the window, oldest time kept}.
_CHECK_AND_RECORD = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, oldest[2]}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {1, count + 1, oldest[2]}
"""
_script = None


class _RatesFromSettings:
    # "throttle:" rather than DRF's "throttle_": a sorted set, not DRF's pickled list under the same name.
    cache_format = "throttle:%(scope)s:%(ident)s"

    @property
    def THROTTLE_RATES(self):  # noqa: N802 - the attribute name DRF reads
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view) -> bool:
        global _script
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            client = default_cache.client.get_client(write=True)
            if _script is None:
                _script = client.register_script(_CHECK_AND_RECORD)
            args = [repr(self.now), self.duration, self.num_requests, f"{self.now!r}:{secrets.token_hex(4)}"]
            allowed, self._count, oldest = _script(keys=[default_cache.make_key(self.key)], args=args, client=client)
        except Exception:  # noqa: BLE001 - Redis down: let requests through, as the cache's ignored errors did
            logger.warning("could not check the %s throttle", self.scope, exc_info=True)
            return True
        self._oldest = float(oldest)
        return bool(allowed)

    def wait(self) -> float | None:
        """DRF's estimate: the window left of the oldest request kept, shared by the places still to free."""
        remaining = self.duration - (self.now - self._oldest)
        available = self.num_requests - self._count + 1
        if available <= 0:
            return None
        return remaining / float(available)


class AnonThrottle(_RatesFromSettings, AnonRateThrottle):
    pass


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    pass


class AuthEndpointThrottle(_RatesFromSettings, SimpleRateThrottle):
    """Stricter limit for sign-up and token requests, per client address, signed in or not."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
