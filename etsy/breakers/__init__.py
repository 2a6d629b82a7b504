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

import time
from collections.abc import Callable

from django.conf import settings

from etsy import metrics
from etsy.breakers.rate import RateBreaker
from etsy.breakers.shared import SharedWindow
from etsy.breakers.window import STATE_VALUES, RateWindowListener

__all__ = [
    "BREAKERS",
    "STATE_VALUES",
    "RateBreaker",
    "RateWindowListener",
    "SharedWindow",
    "breaker_states",
    "payment_breaker",
    "reset_all",
    "search_breaker",
]


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
