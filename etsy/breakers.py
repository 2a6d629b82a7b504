"""Circuit breakers for the services we call over the network (pybreaker).

The documents' rule is a rate over a rolling window, not a run of failures:
the breaker opens when at least ``volume_threshold`` calls in the last
``window_seconds`` were made and ``error_threshold`` of them failed. After
``reset_timeout`` one trial call is let through (half-open).
Timeouts belong to the guarded call itself (the client's own timeout).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import pybreaker

from etsy import metrics

logger = logging.getLogger("etsy.breakers")

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_OPEN: 1, pybreaker.STATE_HALF_OPEN: 2}


class RateWindowListener(pybreaker.CircuitBreakerListener):
    """Open the breaker on an error rate over a rolling window; publish state changes."""

    def __init__(self, *, error_threshold: float, volume_threshold: int, window_seconds: float = 10.0):
        self.error_threshold = error_threshold
        self.volume_threshold = volume_threshold
        self.window_seconds = window_seconds
        self._calls: deque[tuple[float, bool]] = deque()
        self._lock = threading.Lock()

    def _record(self, ok: bool) -> tuple[int, int]:
        now = time.monotonic()
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


def _make(
    name: str, *, error_threshold: float, volume_threshold: int, reset_timeout: float
) -> pybreaker.CircuitBreaker:
    listener = RateWindowListener(error_threshold=error_threshold, volume_threshold=volume_threshold)
    breaker = pybreaker.CircuitBreaker(
        name=name,
        fail_max=10**9,  # opening is decided by the rate listener, never by a run of failures
        reset_timeout=reset_timeout,
        listeners=[listener],
        throw_new_error_on_trip=False,
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
    return {name: {"state": breaker.current_state} for name, breaker in BREAKERS.items()}


def reset_all() -> None:
    """Close every breaker and forget its window (tests and operators)."""
    for breaker in BREAKERS.values():
        breaker.close()
        for listener in breaker.listeners:
            if isinstance(listener, RateWindowListener):
                listener.reset()
