"""The shared window: breakers in several processes count one error rate through the real Redis.

Two ``RateBreaker`` instances of the same name stand for two processes (each has its own view, as a process
would); a third, real process shows the same through a subprocess. Time comes from an injected clock.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pybreaker
import pytest

from etsy.breakers import RateBreaker, SharedWindow, payment_breaker, search_breaker
from tests.local_services import free_port


class Boom(Exception):
    pass


def fail():
    raise Boom


def ok():
    return "ok"


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def name():
    return f"test-{uuid.uuid4().hex[:8]}"


def make(name, clock, *, shared=True, reset_timeout=30.0, volume=5, threshold=0.25):
    return RateBreaker(
        name,
        error_threshold=threshold,
        volume_threshold=volume,
        reset_timeout=reset_timeout,
        shared=shared,
        clock=clock,
    )


def run(breaker, outcomes, clock, *, step=0.1):
    """Call ``breaker`` once per outcome ("ok"/"fail"), ``step`` seconds apart."""
    for outcome in outcomes:
        clock.advance(step)
        if outcome == "ok":
            breaker.call(ok)
        else:
            with pytest.raises(Boom):
                breaker.call(fail)


@pytest.fixture
def two(name, clock):
    first, second = make(name, clock), make(name, clock)
    yield first, second
    first.reset()


def test_two_slow_cards_in_one_process_do_not_open_when_the_fleet_rate_is_low(two, clock):
    first, second = two
    run(second, ["ok"] * 5, clock)
    run(first, ["ok", "ok", "ok", "fail", "fail"], clock)  # 40 % here: a per-process window opens on this
    assert first.current_state == second.current_state == "closed"  # 2 of 10 = 20 % < 25 %
    assert not first.is_refusing() and not second.is_refusing()


def test_the_same_calls_open_a_per_process_breaker(name, clock):
    alone = make(name, clock, shared=False)
    run(alone, ["ok", "ok", "ok", "fail", "fail"], clock)
    assert alone.current_state == "open"


def test_a_per_process_breaker_half_opens_on_its_clock_and_a_good_trial_closes_it(name, clock):
    alone = make(name, clock, shared=False)
    run(alone, ["ok", "ok", "ok", "fail", "fail"], clock)
    clock.advance(29.0)
    assert alone.is_refusing()
    with pytest.raises(pybreaker.CircuitBreakerError):
        alone.call(ok)
    clock.advance(1.0)
    assert not alone.is_refusing()
    assert alone.call(ok) == "ok"
    assert alone.current_state == "closed"


def test_one_failure_in_ten_over_both_keeps_them_closed(two, clock):
    first, second = two
    run(first, ["ok", "ok", "fail", "ok", "ok"], clock)
    run(second, ["ok"] * 5, clock)
    assert first.current_state == second.current_state == "closed"


def test_three_failures_in_ten_over_both_open_both(two, clock):
    first, second = two
    run(first, ["ok"] * 5, clock)
    run(second, ["ok", "ok", "fail", "fail", "fail"], clock)  # 3 of 10 = 30 %
    assert second.current_state == "open"
    clock.advance(2.0)  # the first's view is now older than BREAKER_STATE_MAX_AGE: it asks Redis
    assert first.is_refusing()
    assert first.current_state == "open"
    with pytest.raises(pybreaker.CircuitBreakerError):
        first.call(ok)


def test_a_process_learns_of_the_opening_from_its_next_counted_call(two, clock):
    first, second = two
    run(first, ["ok"] * 4, clock)
    run(second, ["fail", "fail"], clock)
    assert second.current_state == "open"
    run(first, ["ok"], clock)  # its view was fresh and closed: this call went through, its reply says open
    assert first.current_state == "open"
    with pytest.raises(pybreaker.CircuitBreakerError):
        first.call(ok)


def test_calls_outside_the_window_no_longer_count(two, clock):
    first, second = two
    run(first, ["fail", "fail"], clock)
    clock.advance(10.5)
    run(second, ["ok", "ok", "fail", "ok", "ok"], clock)  # only 1 of these 5 fails: 20 %
    assert second.current_state == "closed"


def test_an_opened_breaker_is_open_in_the_other_process(two, clock):
    first, second = two
    first.open()
    clock.advance(2.0)
    assert second.is_refusing()
    assert second.current_state == "open"


def test_after_the_reset_timeout_only_one_process_makes_the_trial_call(two, clock):
    first, second = two
    first.open()
    clock.advance(2.0)
    assert second.is_refusing()  # as the check before each checkout finds it
    clock.advance(28.0)
    assert not second.is_refusing()  # due, and no trial runs yet: its checkout may make it
    seen_by_second = []

    def trial():
        clock.advance(0.01)
        seen_by_second.append(second.is_refusing())  # asks Redis: the first's trial runs
        with pytest.raises(pybreaker.CircuitBreakerError):
            second.call(ok)  # due too, but the trial is the first's
        return "ok"

    assert first.call(trial) == "ok"
    assert seen_by_second == [True]
    assert first.current_state == "closed"
    clock.advance(1.0)  # the second asks again a second after it was turned away
    assert second.call(ok) == "ok"
    assert second.current_state == "closed"


def test_other_threads_of_the_trial_process_are_refused_while_its_trial_runs(two, clock):
    first, _ = two
    first.open()
    clock.advance(30.0)
    transitions = []

    def trial():
        transitions.append(first.current_state)
        assert first.is_refusing()
        with pytest.raises(pybreaker.CircuitBreakerError):
            first.call(ok)  # as another thread of the same worker would
        transitions.append(first.current_state)
        return "ok"

    assert first.call(trial) == "ok"
    assert transitions == ["half-open", "half-open"]
    assert first.current_state == "closed"


def test_a_failed_trial_reopens_the_breaker_for_everyone(two, clock):
    first, second = two
    first.open()
    clock.advance(30.0)
    with pytest.raises(Boom):
        first.call(fail)
    assert first.current_state == "open"
    clock.advance(2.0)
    assert second.is_refusing()  # open again for a full reset timeout from the trial's failure
    clock.advance(27.0)
    assert second.is_refusing()
    clock.advance(1.5)
    assert second.call(ok) == "ok"  # the next trial, by whoever comes first
    assert second.current_state == "closed"
    clock.advance(2.0)
    assert not first.is_refusing()
    assert first.current_state == "closed"


def test_reset_closes_the_shared_state(two, clock):
    first, second = two
    first.open()
    second.reset()
    clock.advance(2.0)
    assert not first.is_refusing()


def test_a_counted_call_costs_one_round_trip_and_a_refusal_none(two, clock, redis_round_trips):
    first, second = two
    run(first, ["ok"], clock)  # loads the script on this Redis
    redis_round_trips.clear()
    run(first, ["ok", "fail"], clock)
    assert len(redis_round_trips) == 2
    redis_round_trips.clear()
    assert not first.is_refusing()  # its view is fresh: no round trip
    assert redis_round_trips == []
    first.open()
    redis_round_trips.clear()
    with pytest.raises(pybreaker.CircuitBreakerError):
        first.call(ok)
    assert first.is_refusing()
    assert redis_round_trips == []


def test_shared_calls_run_side_by_side_in_one_process(two):
    """pybreaker holds its lock for the whole call; the shared path does not (gthread workers' checkouts)."""
    first, _ = two
    both_inside = threading.Barrier(2, timeout=5)
    results = []

    def call():
        results.append(first.call(both_inside.wait))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]  # both were inside at once (a broken barrier raises in both)


@pytest.fixture
def breaker_redis_down(settings):
    """A cache alias whose Redis is a closed port, for the breakers only."""
    settings.CACHES = {
        **settings.CACHES,
        "breakers-down": {**settings.CACHES["strict"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"},
    }
    return "breakers-down"


def test_unreachable_redis_falls_back_to_counting_in_this_process_and_logs_once(
    name, clock, breaker_redis_down, caplog
):
    breaker = make(name, clock)
    breaker.shared_window.alias = breaker_redis_down
    with caplog.at_level(logging.WARNING, logger="etsy.breakers"):
        run(breaker, ["ok", "ok", "ok"], clock)
        assert breaker.current_state == "closed"
        run(breaker, ["fail", "fail"], clock)  # 2 of 5 in this process's own window
    assert breaker.current_state == "open"
    assert breaker.is_refusing()
    unavailable = [r for r in caplog.records if getattr(r, "event", "") == "breaker_redis_unavailable"]
    assert len(unavailable) == 1


def test_the_breaker_counts_in_redis_again_once_it_answers(name, clock, breaker_redis_down, settings, caplog):
    breaker, other = make(name, clock), make(name, clock)
    breaker.shared_window.alias = breaker_redis_down
    run(breaker, ["fail"], clock)
    assert not breaker.is_shared()
    breaker.shared_window.alias = "strict"  # Redis is back
    run(breaker, ["fail"], clock)  # still in its retry pause: counted here
    clock.advance(settings.BREAKER_REDIS_RETRY_SECONDS)
    with caplog.at_level(logging.INFO, logger="etsy.breakers"):
        run(breaker, ["fail", "fail", "ok"], clock)
    assert breaker.is_shared()
    assert [r for r in caplog.records if getattr(r, "event", "") == "breaker_redis_available"]
    run(other, ["ok", "ok"], clock)  # 2 of the 5 calls Redis saw failed
    assert other.current_state == "open"
    breaker.reset()


def test_a_redis_that_does_not_answer_costs_a_call_at_most_the_breaker_timeout(name, clock, settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does) and never answers
    try:
        settings.CACHES = {
            **settings.CACHES,
            "breakers-silent": {
                **settings.CACHES["strict"],
                "LOCATION": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
            },
        }
        breaker = make(name, clock)
        breaker.shared_window.alias = "breakers-silent"
        started = time.monotonic()
        assert breaker.call(ok) == "ok"
        assert time.monotonic() - started < 0.5  # BREAKER_REDIS_TIMEOUT is 0.1 s
        started = time.monotonic()
        for _ in range(5):
            breaker.call(ok)  # Redis is not asked again before BREAKER_REDIS_RETRY_SECONDS
        assert time.monotonic() - started < 0.05
        assert not breaker.is_refusing()
    finally:
        silent.close()


def test_the_payment_breaker_is_shared_and_the_search_breaker_per_process_by_default():
    assert payment_breaker.shared_window is not None and payment_breaker.shared_window.alias == "strict"
    assert search_breaker.shared_window is None


def test_the_shared_keys_carry_the_cache_key_prefix(name, settings):
    keys = SharedWindow(name).keys()
    assert all(key.startswith(f"{settings.CACHES['strict']['KEY_PREFIX']}:") for key in keys)
    assert all(f"{{breaker:{name}}}" in key for key in keys)


CHILD = textwrap.dedent(
    """
    import os, sys
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")
    django.setup()
    from pybreaker import CircuitBreakerError

    from etsy.breakers import RateBreaker

    breaker = RateBreaker(sys.argv[1], error_threshold=0.25, volume_threshold=5, reset_timeout=30, shared=True)

    def fail():
        raise RuntimeError("provider down")

    for outcome in sys.argv[2].split(","):
        try:
            breaker.call(fail if outcome == "fail" else (lambda: None))
        except (RuntimeError, CircuitBreakerError):
            pass
    """
)


@pytest.mark.slow
def test_two_real_processes_count_one_window(name):
    """Each process makes 4 calls, 2 failing: under the volume threshold alone, 4 of 8 together."""
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, name, "fail,ok,fail,ok"], env=os.environ.copy())
        for _ in range(2)
    ]
    assert [child.wait(timeout=60) for child in children] == [0, 0]
    here = RateBreaker(name, error_threshold=0.25, volume_threshold=5, reset_timeout=30, shared=True)
    try:
        assert here.is_refusing()
        assert here.current_state == "open"
    finally:
        here.reset()
