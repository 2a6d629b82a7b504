"""The calls to the configured provider, each behind the payment breaker with a hard timeout."""

from __future__ import annotations

import os
import queue
import threading
from decimal import Decimal

import pybreaker
from django.conf import settings
from django.utils.module_loading import import_string

from etsy.breakers import payment_breaker
from orders.payments.methods import PAYMENT_METHOD_ID
from orders.payments.provider import (
    Charge,
    PaymentError,
    PaymentMethodRefused,
    PaymentProvider,
    PaymentProviderError,
    PaymentsOpenCircuit,
    PaymentTimeout,
)


def test_payment_method_choices() -> list[tuple[str, str]] | None:
    """The configured provider's test payment methods to offer as a plain choice (None: use its own element)."""
    return getattr(import_string(settings.PAYMENT_PROVIDER), "payment_method_choices", None)


def get_provider() -> PaymentProvider:
    return import_string(settings.PAYMENT_PROVIDER)()


class _CallThread:
    """A daemon thread that runs provider calls handed to it, one at a time, and waits idle between them.

    Starting a thread for every call cost some 40-70 us of CPU (three calls a checkout); a waiting one takes a
    call in about 5. A call that outlives its caller's timeout keeps its thread: the thread rejoins the idle
    ones only when the call returns, so a later call never waits behind it (it takes another, or a new one).
    """

    def __init__(self) -> None:
        self.calls: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="payment-call", daemon=True).start()

    def _run(self) -> None:
        while True:
            fn, answer = self.calls.get()
            try:
                answer.put((True, fn()))
            except BaseException as exc:  # handed to the caller
                answer.put((False, exc))
            del fn, answer  # nothing of a finished call stays referenced while idle
            with _IDLE_LOCK:
                if len(_IDLE) >= _MOST_IDLE:
                    return
                _IDLE.append(self)


_IDLE: list[_CallThread] = []
_IDLE_LOCK = threading.Lock()
_MOST_IDLE = 4  # one per concurrent call of this process is enough; more after a burst of slow calls end


def _forget_idle_threads() -> None:
    """A forked child has none of its parent's threads, and its copy of the lock may have been held at the fork."""
    global _IDLE_LOCK
    _IDLE_LOCK = threading.Lock()
    _IDLE.clear()


os.register_at_fork(after_in_child=_forget_idle_threads)


def _with_timeout(fn, timeout: float):
    """Run ``fn`` in a call thread; give up after ``timeout`` seconds (the call keeps running, unheard)."""
    with _IDLE_LOCK:
        worker = _IDLE.pop() if _IDLE else None
    if worker is None:
        worker = _CallThread()
    answer: queue.SimpleQueue = queue.SimpleQueue()
    worker.calls.put((fn, answer))
    try:
        ok, value = answer.get(timeout=timeout)
    except queue.Empty:
        raise PaymentTimeout(f"payment provider gave no answer within {timeout:g}s") from None
    if ok:
        return value
    if isinstance(value, PaymentError):
        raise value
    raise PaymentProviderError(str(value)) from value


def is_circuit_open() -> bool:
    """Return whether the payment breaker refuses calls right now (open and not yet due a trial).

    Reads this process's view of the shared breaker: no round trip unless the view is stale (etsy/breakers/).
    """
    return payment_breaker.is_refusing()


def _guarded(fn, *, counted: bool = True):
    """Call the provider with the hard timeout, refused while the breaker is open.

    Only the calls that move or read money (confirm, retrieve, refund) count towards the breaker's
    error rate: the preparatory look-ups of a checkout (payment method, creating the payment) would
    otherwise dilute one failing charge among three calls.
    """
    if not counted:
        if is_circuit_open():
            raise PaymentsOpenCircuit("payment breaker is open")
        return _with_timeout(fn, settings.PAYMENT_TIMEOUT_SECONDS)
    try:
        return payment_breaker.call(_with_timeout, fn, settings.PAYMENT_TIMEOUT_SECONDS)
    except pybreaker.CircuitBreakerError as exc:
        raise PaymentsOpenCircuit(str(exc)) from exc


def guarded(fn, *, counted: bool = True):
    """Run one provider call (``fn``) behind the payment breaker with the hard timeout (see ``_guarded``)."""
    return _guarded(fn, counted=counted)


def check_payment_method(*, payment_method: str) -> None:
    """Refuse a payment-method id that is malformed or unknown to the provider, before anything is created.

    Raises PaymentMethodRefused, PaymentsOpenCircuit or PaymentError.
    """
    if not PAYMENT_METHOD_ID.match(payment_method or ""):
        raise PaymentMethodRefused("invalid_payment_method", "Not a payment-method id (pm_...).")
    provider = get_provider()
    decline_code = _guarded(lambda: provider.check_payment_method(payment_method=payment_method), counted=False)
    if decline_code:
        raise PaymentMethodRefused(decline_code)


def create_payment(
    *, amount: Decimal, currency: str, idempotency_key: str, description: str = "", metadata: dict | None = None
) -> str:
    """Create the checkout's one payment (not yet confirmed) and return its id: the caller stores it first.

    Raises PaymentsOpenCircuit (nothing sent) or PaymentError (outcome unknown; nothing was charged).
    """
    provider = get_provider()
    return _guarded(
        lambda: provider.create_payment(
            amount=amount,
            currency=currency,
            idempotency_key=idempotency_key,
            description=description,
            metadata=metadata or {},
        ),
        counted=False,
    )


def confirm_payment(
    *, payment_id: str, payment_method: str, amount: Decimal, currency: str, idempotency_key: str
) -> Charge:
    """Confirm the payment with the buyer's payment method, through the breaker with the hard timeout.

    Raises PaymentsOpenCircuit (nothing sent) or PaymentError (outcome unknown).
    A decline is a returned Charge, not an error: it does not count against the breaker.
    """
    provider = get_provider()
    return _guarded(
        lambda: provider.confirm_payment(
            payment_id=payment_id,
            payment_method=payment_method,
            amount=amount,
            currency=currency,
            idempotency_key=idempotency_key,
        )
    )


def retrieve(*, payment_id: str, idempotency_key: str) -> Charge | None:
    """Look up the checkout's payment (None: the provider never received it)."""
    provider = get_provider()
    return _guarded(lambda: provider.retrieve(payment_id=payment_id, idempotency_key=idempotency_key))


def cancel_payment(*, payment_id: str, idempotency_key: str) -> Charge:
    """Cancel a payment nobody finished (3-D Secure never completed); return it as the provider now has it.

    A payment that succeeded meanwhile is returned as succeeded (not cancelled). Raises PaymentError.
    """
    provider = get_provider()
    return _guarded(lambda: provider.cancel_payment(payment_id=payment_id, idempotency_key=idempotency_key))
