"""The per-process rolling window of call outcomes (pybreaker listener); publishes state changes."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import pybreaker

from etsy import metrics

logger = logging.getLogger("etsy.breakers")

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_OPEN: 1, pybreaker.STATE_HALF_OPEN: 2}


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
        old_name = old_state.name if old_state else None
        if old_name == new_name:  # closing a closed breaker (a reset): no transition to report
            if new_name == pybreaker.STATE_CLOSED:
                self.reset()
            return
        logger.warning(
            "circuit breaker state changed",
            extra={
                "event": "breaker_transition",
                "service": cb.name,
                "from_state": old_name,
                "to_state": new_name,
            },
        )
        if new_name == pybreaker.STATE_CLOSED:
            self.reset()
