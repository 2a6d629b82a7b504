import pybreaker
import pytest

from etsy.breakers import _make


class Boom(Exception):
    pass


def _fail():
    raise Boom


def test_breaker_opens_on_error_rate_only_after_volume_threshold():
    breaker = _make("test-rate", error_threshold=0.25, volume_threshold=5, reset_timeout=30)
    for _ in range(3):
        breaker.call(lambda: "ok")
    with pytest.raises(Boom):
        breaker.call(_fail)
    assert breaker.current_state == "closed"  # 1 failure in 4 calls: below the volume threshold
    with pytest.raises(Boom):
        breaker.call(_fail)
    assert breaker.current_state == "open"  # 2 of 5 failed = 40 % >= 25 %
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(lambda: "ok")


def test_breaker_half_opens_after_reset_timeout_and_closes_on_success():
    breaker = _make("test-reset", error_threshold=0.5, volume_threshold=2, reset_timeout=0.05)
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(_fail)
    assert breaker.current_state == "open"
    import time

    time.sleep(0.06)
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.current_state == "closed"


def test_a_run_of_successes_keeps_breaker_closed_despite_isolated_failures():
    breaker = _make("test-isolated", error_threshold=0.5, volume_threshold=10, reset_timeout=30)
    for i in range(20):
        if i % 4 == 0:
            with pytest.raises(Boom):
                breaker.call(_fail)
        else:
            breaker.call(lambda: "ok")
    assert breaker.current_state == "closed"
