"""The payment-provider interface, the built-in test provider, and the guarded call.

Checkout talks to a provider only through ``charge`` and ``retrieve`` below: each
call runs behind ``etsy.breakers.payment_breaker`` with a hard timeout
(``settings.PAYMENT_TIMEOUT_SECONDS``, 5 s). A timeout or provider error is an
*unknown* outcome, never a decline: the same charge is looked up later by its
idempotency key (one key per checkout), so a retry can never charge twice.

Test cards of ``TestPaymentProvider`` (any expiry / CVC):
  4242424242424242  succeeds
  4000000000000002  is declined (card_declined)
  4000000000009999  is slow: the provider answers after the client timeout, the charge succeeds
  4000000000009987  is slow and is then declined by the provider
  any other number passing the Luhn check succeeds; failing it is declined (incorrect_number)
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import pybreaker
from django.conf import settings
from django.core.cache import caches
from django.utils.module_loading import import_string

from etsy.breakers import payment_breaker

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_TIMEOUT = "4000000000009999"
CARD_TIMEOUT_THEN_DECLINED = "4000000000009987"


class ChargeStatus:
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PROCESSING = "processing"


@dataclass(frozen=True)
class Charge:
    id: str
    status: str
    amount: Decimal
    currency: str
    decline_code: str = ""


@dataclass(frozen=True)
class Refund:
    id: str
    charge_id: str
    amount: Decimal


class PaymentError(Exception):
    """The provider did not give a final answer: the outcome of the charge is unknown."""


class PaymentTimeout(PaymentError):
    pass


class PaymentProviderError(PaymentError):
    pass


class PaymentsOpenCircuit(Exception):
    """The breaker refused the call: nothing was sent to the provider."""


class PaymentProvider(Protocol):
    def charge(
        self, *, amount: Decimal, currency: str, card_number: str, idempotency_key: str, description: str
    ) -> Charge: ...

    def retrieve(self, *, idempotency_key: str) -> Charge | None: ...

    def refund(self, *, charge_idempotency_key: str, amount: Decimal, idempotency_key: str) -> Refund: ...


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


class TestPaymentProvider:
    """A provider that behaves like a real one over the wire, with its ledger in Redis.

    Charges are stored under the request's idempotency key (first request wins,
    like Stripe), so a retried or re-queried charge is the same charge. The slow
    cards really take longer than the client's timeout; their outcome becomes
    visible to ``retrieve`` once the provider has "finished" processing.
    """

    __test__ = False  # not a pytest class
    LEDGER_TTL = 7 * 24 * 3600

    def __init__(self) -> None:
        self.cache = caches["strict"]

    def _key(self, idempotency_key: str) -> str:
        return f"payments:test-provider:{idempotency_key}"

    @staticmethod
    def slow_seconds() -> float:
        return float(getattr(settings, "TEST_PAYMENT_SLOW_SECONDS", settings.PAYMENT_TIMEOUT_SECONDS + 2))

    def _decide(self, card_number: str) -> tuple[str, str, float]:
        """Return (final status, decline code, processing seconds) for a card."""
        if card_number == CARD_DECLINED:
            return ChargeStatus.DECLINED, "card_declined", 0.0
        if card_number == CARD_TIMEOUT:
            return ChargeStatus.SUCCEEDED, "", self.slow_seconds()
        if card_number == CARD_TIMEOUT_THEN_DECLINED:
            return ChargeStatus.DECLINED, "processing_error", self.slow_seconds()
        if card_number == CARD_SUCCEEDS or luhn_ok(card_number):
            return ChargeStatus.SUCCEEDED, "", 0.0
        return ChargeStatus.DECLINED, "incorrect_number", 0.0

    def charge(
        self, *, amount: Decimal, currency: str, card_number: str, idempotency_key: str, description: str = ""
    ) -> Charge:
        digits = "".join(ch for ch in str(card_number) if ch.isdigit())
        status, decline_code, seconds = self._decide(digits)
        record = {
            "id": f"ch_test_{uuid.uuid4().hex[:24]}",
            "status": status,
            "decline_code": decline_code,
            "amount": str(amount),
            "currency": currency,
            "card_last4": digits[-4:],
            "available_at": (datetime.now(UTC) + timedelta(seconds=seconds)).timestamp(),
            "description": description,
        }
        if not self.cache.add(self._key(idempotency_key), record, self.LEDGER_TTL):
            stored = self.cache.get(self._key(idempotency_key))
            if stored is None or stored["amount"] != str(amount) or stored["card_last4"] != digits[-4:]:
                raise PaymentProviderError("idempotency key reused with different parameters")
            record, seconds = stored, max(0.0, stored["available_at"] - time.time())
        if seconds:
            time.sleep(seconds)
        return self._as_charge(record)

    def retrieve(self, *, idempotency_key: str) -> Charge | None:
        record = self.cache.get(self._key(idempotency_key))
        return None if record is None else self._as_charge(record)

    def refund(self, *, charge_idempotency_key: str, amount: Decimal, idempotency_key: str) -> Refund:
        """Refund part or all of a succeeded charge; the same idempotency key returns the same refund."""
        key = f"payments:test-provider:refund:{idempotency_key}"
        stored = self.cache.get(key)
        if stored is not None:
            return Refund(id=stored["id"], charge_id=stored["charge_id"], amount=Decimal(stored["amount"]))
        charge = self.retrieve(idempotency_key=charge_idempotency_key)
        if charge is None or charge.status != ChargeStatus.SUCCEEDED:
            raise PaymentProviderError("no succeeded charge to refund")
        refunded_key = f"payments:test-provider:refunded:{charge_idempotency_key}"
        cents = int((amount * 100).to_integral_value())
        client = self.cache.client.get_client(write=True)
        total = client.incrby(self.cache.make_key(refunded_key), cents)
        if total > int(charge.amount * 100):
            client.decrby(self.cache.make_key(refunded_key), cents)
            raise PaymentProviderError("refund exceeds the charge")
        record = {"id": f"re_test_{uuid.uuid4().hex[:24]}", "charge_id": charge.id, "amount": str(amount)}
        self.cache.set(key, record, self.LEDGER_TTL)
        return Refund(id=record["id"], charge_id=charge.id, amount=amount)

    @staticmethod
    def _as_charge(record: dict) -> Charge:
        status = record["status"] if time.time() >= record["available_at"] else ChargeStatus.PROCESSING
        return Charge(
            id=record["id"],
            status=status,
            amount=Decimal(record["amount"]),
            currency=record["currency"],
            decline_code=record["decline_code"] if status == ChargeStatus.DECLINED else "",
        )


def get_provider() -> PaymentProvider:
    return import_string(settings.PAYMENT_PROVIDER)()


def _with_timeout(fn, timeout: float):
    """Run ``fn`` in a daemon thread; give up after ``timeout`` seconds (the call keeps running, unheard)."""
    results: queue.Queue = queue.Queue(maxsize=1)

    def target():
        try:
            results.put((True, fn()))
        except BaseException as exc:  # handed to the caller
            results.put((False, exc))

    threading.Thread(target=target, name="payment-call", daemon=True).start()
    try:
        ok, value = results.get(timeout=timeout)
    except queue.Empty:
        raise PaymentTimeout(f"payment provider gave no answer within {timeout:g}s") from None
    if ok:
        return value
    if isinstance(value, PaymentError):
        raise value
    raise PaymentProviderError(str(value)) from value


def is_circuit_open() -> bool:
    """Return whether the payment breaker refuses calls right now (open and not yet due a trial)."""
    if payment_breaker.current_state != pybreaker.STATE_OPEN:
        return False
    opened_at = payment_breaker._state_storage.opened_at
    if opened_at is None:
        return True
    return datetime.now(UTC) < opened_at + timedelta(seconds=payment_breaker.reset_timeout)


def _guarded(fn):
    try:
        return payment_breaker.call(_with_timeout, fn, settings.PAYMENT_TIMEOUT_SECONDS)
    except pybreaker.CircuitBreakerError as exc:
        raise PaymentsOpenCircuit(str(exc)) from exc


def charge(*, amount: Decimal, currency: str, card_number: str, idempotency_key: str, description: str = "") -> Charge:
    """Charge through the breaker with the hard timeout.

    Raises PaymentsOpenCircuit (nothing sent) or PaymentError (outcome unknown).
    A decline is a returned Charge, not an error: it does not count against the breaker.
    """
    provider = get_provider()
    return _guarded(
        lambda: provider.charge(
            amount=amount,
            currency=currency,
            card_number=card_number,
            idempotency_key=idempotency_key,
            description=description,
        )
    )


def retrieve(*, idempotency_key: str) -> Charge | None:
    """Look up the charge made with ``idempotency_key`` (None: the provider never received it)."""
    provider = get_provider()
    return _guarded(lambda: provider.retrieve(idempotency_key=idempotency_key))


def refund(*, charge_idempotency_key: str, amount: Decimal, idempotency_key: str) -> Refund:
    """Refund through the breaker. Raises PaymentsOpenCircuit or PaymentError (retry later, same key)."""
    provider = get_provider()
    return _guarded(
        lambda: provider.refund(
            charge_idempotency_key=charge_idempotency_key, amount=amount, idempotency_key=idempotency_key
        )
    )
