"""A pybreaker breaker opened by an error rate, over a window shared through Redis or this process's own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pybreaker
from django.conf import settings

from etsy.breakers.shared import SharedWindow, new_token
from etsy.breakers.window import RateWindowListener

logger = logging.getLogger("etsy.breakers")  # every breaker's records on one channel


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
        token = new_token()
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
