"""The provider calls' hard timeout: calls run in waiting threads, a timed-out call never holds up a later one."""

from __future__ import annotations

import threading

import pytest

from orders.payments import calls
from orders.payments.provider import PaymentError, PaymentProviderError, PaymentTimeout


def _thread_of_call() -> threading.Thread:
    return threading.current_thread()


def test_calls_one_after_another_share_one_waiting_thread():
    first = calls._with_timeout(_thread_of_call, 5)
    second = calls._with_timeout(_thread_of_call, 5)
    assert first is second
    assert first is not threading.current_thread()
    assert first.name == "payment-call" and first.daemon


def test_a_timed_out_call_keeps_running_unheard_and_a_later_call_does_not_wait_for_it():
    release, finished = threading.Event(), threading.Event()

    def hanging():
        release.wait(10)
        finished.set()

    with pytest.raises(PaymentTimeout):
        calls._with_timeout(hanging, 0.05)
    assert calls._with_timeout(lambda: 7, 5) == 7  # answered while the first call still hangs
    assert not finished.is_set()
    release.set()
    assert finished.wait(5)  # the abandoned call ran to its end


def test_a_call_thread_hands_back_errors_as_payment_errors():
    class Refused(PaymentError):
        pass

    def refused():
        raise Refused("declined")

    def broken():
        raise KeyError("id")

    with pytest.raises(Refused):
        calls._with_timeout(refused, 5)
    with pytest.raises(PaymentProviderError) as caught:
        calls._with_timeout(broken, 5)
    assert isinstance(caught.value.__cause__, KeyError)
    assert calls._with_timeout(lambda: "after errors", 5) == "after errors"


def test_idle_call_threads_are_few_after_a_burst_of_slow_calls():
    release = threading.Event()
    for _ in range(calls._MOST_IDLE + 3):
        with pytest.raises(PaymentTimeout):
            calls._with_timeout(lambda: release.wait(10), 0.01)
    release.set()
    for _ in range(100):
        if len(calls._IDLE) >= calls._MOST_IDLE:
            break
        threading.Event().wait(0.01)
    assert len(calls._IDLE) == calls._MOST_IDLE
