"""Circuit breakers for the services we call over the network (pybreaker).

The documents' rule is a rate over a rolling window, not a run of failures:
the breaker opens when at least ``volume_threshold`` calls in the last
``window_seconds`` were made and ``error_threshold`` of them failed. After
``reset_timeout`` one trial call is let through (half-open).
Timeouts belong to the guarded call itself (the client's own timeout).

Where the window lives (``settings.BREAKER_SHARED_WINDOWS``):

- **Shared** (the payment breaker by default): the window and the open/half-open state are in Redis
  (``SharedWindow``), one for every web process and Celery worker, so the error rate is the fleet's. One
  process's unlucky sample (two slow cards among its last five calls) no longer opens anything, and a provider
  that really fails opens the breaker everywhere at once. Each process keeps a *view* of the shared state
  (pybreaker's own state, so metrics, logs and ``/api/health`` read it as before) and pays for it as follows:

  - a counted call costs one round trip, after the call: a Lua script records the outcome and answers the
    window's verdict (closed, or open since when), which refreshes the view at no extra cost;
  - a refused call (view open, not yet due a trial) costs nothing;
  - the first call due a trial costs one more round trip (``SET NX`` of a lease: exactly one process, fleet-wide,
    makes the trial; the others keep refusing until its outcome closes or reopens the breaker);
  - ``is_refusing()`` (before every checkout, and before the calls that are not counted) reads the view; it asks
    Redis (one ``MGET``) only when the view is older than ``BREAKER_STATE_MAX_AGE``. A busy process refreshes its
    view with every counted call and never asks; an idle one asks at most once per that age. A process may so
    send one call per thread to a provider the fleet has just given up on: that call's reply tells it.

- **Per process** (the Elasticsearch breaker by default, and any breaker while Redis is unreachable): the window
  is this process's memory (``RateWindowListener``) and pybreaker's own state machine runs, as before.

Redis trouble never breaks a call: an error or a timeout (``BREAKER_REDIS_TIMEOUT``, a client of its own) is
logged once, the outcome is counted in this process's window instead, and Redis is tried again after
``BREAKER_REDIS_RETRY_SECONDS``.

pybreaker's ``CircuitRedisStorage`` was not used: it stores a run-of-failures counter (not a rate window), reads
Redis on every state check (``current_state``, so before every checkout), and lets every process that sees the
half-open state make a trial call. pybreaker also holds its lock for the whole guarded call, so the threads of
a gthread worker wait on each other's payment calls; the shared path calls outside the lock.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count

import pybreaker
import redis
from django.conf import settings
from django.core.cache import caches
from redis.commands.core import Script

from etsy import metrics

logger = logging.getLogger("etsy.breakers")

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_OPEN: 1, pybreaker.STATE_HALF_OPEN: 2}

# An open state nobody has tried for a day is forgotten: the breaker starts closed, as a new process would.
OPENED_KEY_TTL_SECONDS = 24 * 3600


class RateWindowListener(pybreaker.CircuitBreakerListener):
    """Open the breaker on an error rate over a rolling window; publish state changes."""

    def __init__(
        self,
        *,
        error_threshold: float,
        volume_threshold: int,
        window_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.error_threshold = error_threshold
        self.volume_threshold = volume_threshold
        self.window_seconds = window_seconds
        self._clock = clock
        self._calls: deque[tuple[float, bool]] = deque()
        self._lock = threading.Lock()

    def _record(self, ok: bool) -> tuple[int, int]:
        now = self._clock()
        with self._lock:
            self._calls.append((now, ok))
            while self._calls and self._calls[0][0] < now - self.window_seconds:
                self._calls.popleft()
            total = len(self._calls)
            failures = sum(1 for _, success in self._calls if not success)
        return total, failures

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def success(self, cb: pybreaker.CircuitBreaker) -> None:
        if cb.current_state == pybreaker.STATE_CLOSED:
            self._record(True)

    def failure(self, cb: pybreaker.CircuitBreaker, exc: BaseException) -> None:
        if cb.current_state != pybreaker.STATE_CLOSED:
            return
        total, failures = self._record(False)
        if total >= self.volume_threshold and failures / total >= self.error_threshold:
            cb.open()

    def state_change(self, cb, old_state, new_state) -> None:
        new_name = new_state.name if new_state else "unknown"
        metrics.circuit_breaker_state.labels(service=cb.name).set(STATE_VALUES.get(new_name, 0))
        logger.warning(
            "circuit breaker state changed",
            extra={
                "event": "breaker_transition",
                "service": cb.name,
                "from_state": old_state.name if old_state else None,
                "to_state": new_name,
            },
        )
        if new_name == pybreaker.STATE_CLOSED:
            self.reset()


# --- the shared window (Redis) -------------------------------------------------------

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


def _new_token() -> str:
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
            _new_token(),
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


class _CountLocally(Exception):
    """Redis did not answer the admission: this call goes through the per-process breaker."""


class RateBreaker(pybreaker.CircuitBreaker):
    """A pybreaker breaker opened by an error rate, over a window shared through Redis or this process's own.

    ``clock`` (wall-clock seconds, the same on every host within NTP's drift) is injectable for tests.
    """

    def __init__(
        self,
        name: str,
        *,
        error_threshold: float,
        volume_threshold: int,
        reset_timeout: float,
        window_seconds: float = 10.0,
        shared: bool = False,
        redis_alias: str = "strict",
        trial_lease_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.window = RateWindowListener(
            error_threshold=error_threshold,
            volume_threshold=volume_threshold,
            window_seconds=window_seconds,
            clock=time.monotonic if clock is time.time else clock,
        )
        self.shared_window = SharedWindow(name, alias=redis_alias) if shared else None
        self.trial_lease_seconds = trial_lease_seconds
        self._clock = clock
        self._view_at = float("-inf")  # when the view last matched Redis
        self._recheck_at = float("-inf")  # another process's trial is running: ask again from then
        self._redis_retry_at = float("-inf")  # Redis failed: count in this process until then
        self._redis_down = False
        self._opened_ts: float | None = None
        super().__init__(
            name=name,
            fail_max=10**9,  # opening is decided by the rate window, never by a run of failures
            reset_timeout=reset_timeout,
            listeners=[self.window],
            throw_new_error_on_trip=False,
        )

    # --- which window counts -----------------------------------------------------

    def is_shared(self) -> bool:
        """Whether the shared window counts right now (configured, and Redis not in its retry pause)."""
        return self.shared_window is not None and self._clock() >= self._redis_retry_at

    def _redis_failed(self) -> None:
        self._redis_retry_at = self._clock() + settings.BREAKER_REDIS_RETRY_SECONDS
        if not self._redis_down:
            self._redis_down = True
            logger.warning(
                "circuit breaker counts in this process: Redis did not answer",
                extra={"event": "breaker_redis_unavailable", "service": self.name},
                exc_info=True,
            )

    def _redis_answered(self, now: float) -> None:
        self._view_at = now
        if self._redis_down:
            self._redis_down = False
            self.window.reset()
            logger.info(
                "circuit breaker counts in Redis again",
                extra={"event": "breaker_redis_available", "service": self.name},
            )

    # --- this process's view of the state -------------------------------------------

    def _opened_at(self) -> float | None:
        return self._opened_ts

    def _mark_opened(self, opened_at: float) -> None:
        """Keep when it opened, exact (pybreaker's datetime, to the microsecond, is kept for its readers)."""
        self._opened_ts = opened_at
        self._state_storage.opened_at = datetime.fromtimestamp(opened_at, UTC)

    def _set_view(self, state: str, opened_at: float | None) -> None:
        """Take the shared state as this process's (pybreaker's state: listeners hear of a change)."""
        with self._lock:
            if opened_at is not None:
                self._mark_opened(opened_at)
            if state != self._state_storage.state:
                self.state = self._state_storage.state = state

    def _refresh_view(self, now: float) -> None:
        try:
            opened_at, trial_running = self.shared_window.peek()
        except Exception:  # noqa: BLE001 - Redis trouble never reaches the caller
            self._redis_failed()
            return
        self._redis_answered(now)
        if opened_at is None:
            self._set_view(pybreaker.STATE_CLOSED, None)
            return
        if trial_running:
            self._recheck_at = now + min(1.0, self.reset_timeout)
        if not (trial_running and self._state_storage.state == pybreaker.STATE_HALF_OPEN):
            self._set_view(pybreaker.STATE_OPEN, opened_at)

    def is_refusing(self) -> bool:
        """Return whether a call made now would be refused (open and not due a trial, or another's trial runs).

        With the shared window, reads Redis (one round trip) only when the view is older than
        ``BREAKER_STATE_MAX_AGE``, or when the breaker is due a trial (is another process's trial running?);
        never raises.
        """
        now = self._clock()
        if self.is_shared() and now - self._view_at >= settings.BREAKER_STATE_MAX_AGE:
            self._refresh_view(now)
        refusing = self._refuses(now)
        if refusing is None:  # due a trial: unless another process's trial runs, this checkout may make it
            self._refresh_view(now)
            refusing = bool(self._refuses(now))
        return refusing

    def _refuses(self, now: float) -> bool | None:
        """Whether the view refuses a call now; None: due a trial, and whether one runs elsewhere is unknown."""
        shared = self.is_shared()
        state = self._state_storage.state
        if state == pybreaker.STATE_CLOSED:
            return False
        if state == pybreaker.STATE_HALF_OPEN:
            return shared  # this process's trial is running (pybreaker's own lock queues a local one)
        opened_at = self._opened_at()
        if opened_at is None or now < opened_at + self.reset_timeout:
            return True
        if not shared:
            return False
        if now < self._recheck_at:
            return True
        return False if self._view_at >= now else None

    def state_now(self) -> str:
        """Return the state as this process sees it, its view refreshed when stale (``/api/health``)."""
        self.is_refusing()
        return self.current_state

    # --- calls -------------------------------------------------------------------

    def call(self, func, *args, **kwargs):
        """Call ``func`` unless the breaker refuses (pybreaker.CircuitBreakerError); count its outcome.

        A shared call holds no lock while ``func`` runs; its outcome is one round trip to Redis.
        """
        if not self.is_shared():
            return self._call_locally(func, *args, **kwargs)
        try:
            trial = self._admit()
        except _CountLocally:
            return self._call_locally(func, *args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            self._settle(ok=not self.is_system_error(exc), trial=trial, exc=exc)
            raise
        self._settle(ok=True, trial=trial, exc=None)
        return result

    def _call_locally(self, func, *args, **kwargs):
        """pybreaker's own call (its lock held throughout), the reset timeout read on this breaker's clock."""
        with self._lock:
            if self._state_storage.state == pybreaker.STATE_OPEN:
                opened_at = self._opened_at()
                if opened_at is not None and self._clock() < opened_at + self.reset_timeout:
                    raise pybreaker.CircuitBreakerError("Timeout not elapsed yet, circuit breaker still open")
                self.half_open()
            return super().call(func, *args, **kwargs)

    def _admit(self) -> str | None:
        """Return None for an ordinary call or the trial's token; raise CircuitBreakerError to refuse."""
        now = self._clock()
        state = self._state_storage.state
        if state == pybreaker.STATE_CLOSED:
            return None
        if state == pybreaker.STATE_HALF_OPEN:  # this process's trial is running (its outcome always ends it)
            raise pybreaker.CircuitBreakerError("Trial call running, circuit breaker still open")
        opened_at = self._opened_at()
        if opened_at is not None and now < opened_at + self.reset_timeout:
            raise pybreaker.CircuitBreakerError("Timeout not elapsed yet, circuit breaker still open")
        if now < self._recheck_at:
            raise pybreaker.CircuitBreakerError("Trial call running elsewhere, circuit breaker still open")
        token = _new_token()
        lease = self.trial_lease_seconds if self.trial_lease_seconds is not None else max(self.reset_timeout, 10.0)
        try:
            verdict, opened_at = self.shared_window.admit(
                now=now, reset_timeout=self.reset_timeout, token=token, lease_seconds=lease
            )
        except Exception:  # noqa: BLE001 - Redis trouble never reaches the caller
            self._redis_failed()
            raise _CountLocally from None
        self._redis_answered(now)
        if verdict == "closed":
            self._set_view(pybreaker.STATE_CLOSED, None)
            return None
        if verdict == "trial":
            self._set_view(pybreaker.STATE_HALF_OPEN, opened_at)
            return token
        self._set_view(pybreaker.STATE_OPEN, opened_at)
        if verdict == "busy":
            self._recheck_at = now + min(1.0, self.reset_timeout)
        raise pybreaker.CircuitBreakerError("Timeout not elapsed yet, circuit breaker still open")

    def _settle(self, *, ok: bool, trial: str | None, exc: BaseException | None) -> None:
        """Record the outcome in Redis and take its verdict; in this process's window when Redis fails."""
        try:
            now = self._clock()
            try:
                verdict, opened_at = self.shared_window.record(
                    ok=ok,
                    now=now,
                    window_seconds=self.window.window_seconds,
                    volume_threshold=self.window.volume_threshold,
                    error_threshold=self.window.error_threshold,
                    trial=trial,
                )
            except Exception:  # noqa: BLE001 - Redis trouble never reaches the caller
                self._redis_failed()
                self._settle_locally(ok=ok, trial=trial, exc=exc)
                return
            self._redis_answered(now)
            self._set_view(verdict, opened_at)
        except Exception:  # noqa: BLE001 - bookkeeping never fails the guarded call
            logger.exception("circuit breaker could not count a call", extra={"service": self.name})

    def _settle_locally(self, *, ok: bool, trial: str | None, exc: BaseException | None) -> None:
        if trial is not None:
            self.close() if ok else self.open()
        elif ok:
            self.window.success(self)
        else:
            self.window.failure(self, exc)

    # --- operators and tests -------------------------------------------------------------

    def open(self) -> bool:
        """Open the circuit (for every process when shared)."""
        now = self._clock()
        if self.shared_window is None:
            with self._lock:
                super().open()
                self._mark_opened(now)
            return self._throw_new_error_on_trip
        if self.is_shared():
            try:
                self.shared_window.open(now=now)
            except Exception:  # noqa: BLE001
                self._redis_failed()
        with self._lock:
            self._mark_opened(now)
            self.state = self._state_storage.state = pybreaker.STATE_OPEN
        return self._throw_new_error_on_trip

    def close(self) -> None:
        """Close the circuit and forget its window (for every process when shared)."""
        if self.shared_window is not None and self.is_shared():
            try:
                self.shared_window.clear()
            except Exception:  # noqa: BLE001
                self._redis_failed()
        self._recheck_at = float("-inf")
        super().close()

    def reset(self) -> None:
        """Close the breaker everywhere and forget both windows; Redis is tried again at once."""
        self._redis_retry_at = float("-inf")
        self.close()
        self.window.reset()


def _make(
    name: str,
    *,
    error_threshold: float,
    volume_threshold: int,
    reset_timeout: float,
    shared: bool | None = None,
    clock: Callable[[], float] = time.time,
) -> RateBreaker:
    """Build a breaker; ``shared`` None: shared when ``settings.BREAKER_SHARED_WINDOWS`` names it."""
    if shared is None:
        shared = name in settings.BREAKER_SHARED_WINDOWS
    breaker = RateBreaker(
        name,
        error_threshold=error_threshold,
        volume_threshold=volume_threshold,
        reset_timeout=reset_timeout,
        shared=shared,
        redis_alias=settings.BREAKER_REDIS_ALIAS,
        clock=clock,
    )
    metrics.circuit_breaker_state.labels(service=name).set(0)
    return breaker


# Elasticsearch: 3 s timeout (the client's request_timeout), 50 % errors over >= 10 calls, 15 s reset.
search_breaker = _make("elasticsearch", error_threshold=0.5, volume_threshold=10, reset_timeout=15)
# Payment provider: 5 s timeout (the provider call), 25 % errors over >= 5 calls, 30 s reset.
payment_breaker = _make("payment", error_threshold=0.25, volume_threshold=5, reset_timeout=30)

BREAKERS = {breaker.name: breaker for breaker in (search_breaker, payment_breaker)}


def breaker_states() -> dict[str, dict[str, str]]:
    """Return each breaker's state, for /api/health."""
    return {name: {"state": breaker.state_now()} for name, breaker in BREAKERS.items()}


def reset_all() -> None:
    """Close every breaker and forget its window, the shared ones included (tests and operators)."""
    for breaker in BREAKERS.values():
        breaker.reset()
