"""The payment-provider interface, the built-in test provider, and the guarded call.

No card data reaches this server: the buyer types the card into the provider's own
element (Stripe.js, a mobile SDK) and we receive a payment-method id (``pm_...``).

Checkout talks to a provider only through the functions below (``check_payment_method``,
``create_payment``, ``confirm_payment``, ``retrieve``, ``refund``): each call runs behind
``etsy.breakers.payment_breaker`` with a hard timeout (``settings.PAYMENT_TIMEOUT_SECONDS``,
5 s). A payment is created first (its id is stored on the checkout) and confirmed second, so an
outcome that is unknown (timeout, provider error: never a decline) is looked up later by that
id; the provider idempotency key is fixed per checkout, so a retry can never charge twice.

Test payment methods of ``TestPaymentProvider`` (Stripe's own test ids, plus two slow ones):
  pm_card_visa                    succeeds
  pm_card_chargeDeclined          is declined (card_declined)
  pm_card_authenticationRequired  needs 3-D Secure (requires_action) until authenticated
  pm_card_timeout                 is slow: the provider answers after the client timeout, the charge succeeds
  pm_card_timeoutThenDeclined     is slow and is then declined by the provider
  any other id is refused before anything is created (resource_missing)
"""

from __future__ import annotations

import queue
import re
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

PM_SUCCEEDS = "pm_card_visa"
PM_DECLINED = "pm_card_chargeDeclined"
PM_AUTHENTICATION_REQUIRED = "pm_card_authenticationRequired"
PM_TIMEOUT = "pm_card_timeout"
PM_TIMEOUT_THEN_DECLINED = "pm_card_timeoutThenDeclined"
# The test provider's choices, offered as plain radio buttons on the HTML checkout (no JavaScript needed).
TEST_PAYMENT_METHODS = [
    (PM_SUCCEEDS, "Test Visa: payment succeeds"),
    (PM_DECLINED, "Test card that is declined"),
    (PM_AUTHENTICATION_REQUIRED, "Test card that asks for 3-D Secure authentication"),
    (PM_TIMEOUT, "Test card whose provider answers too late (the payment succeeds later)"),
]
PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,250}$")
# Request fields that would carry card data: refused by the API and the HTML checkout alike.
CARD_FIELD_NAMES = frozenset({"card", "card_number", "number", "cvc", "cvv", "cvv2", "pan", "expiry"})


def has_card_data(data, *, depth: int = 0) -> bool:
    """Whether a request body carries a card field (``card_number``, ``cvc``, ``exp_*``...) at any level."""
    if depth > 4 or not isinstance(data, dict):
        return False
    for key, value in data.items():
        name = str(key).lower()
        if name in CARD_FIELD_NAMES or name.startswith(("exp_", "card_")):
            return True
        if has_card_data(value, depth=depth + 1):
            return True
    return False


class ChargeStatus:
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True)
class Charge:
    """A payment as the provider sees it. ``id``: the charge (``ch_...``, empty until charged);
    ``payment_id``: the payment intent (``pi_...``); ``client_secret`` lets the buyer's browser or
    app finish a ``requires_action`` payment."""

    id: str
    status: str
    amount: Decimal
    currency: str
    decline_code: str = ""
    payment_id: str = ""
    client_secret: str = ""


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


class PaymentMethodRefused(Exception):
    """The provider does not know or will not use this payment method: nothing was created or charged."""

    def __init__(self, decline_code: str, message: str = "") -> None:
        super().__init__(message or decline_code)
        self.decline_code = decline_code


class PaymentsOpenCircuit(Exception):
    """The breaker refused the call: nothing was sent to the provider."""


class PaymentProvider(Protocol):
    def check_payment_method(self, *, payment_method: str) -> str:
        """Return "" when the id is usable, else the provider's decline code (a refusal is an answer, not an error)."""

    def create_payment(
        self, *, amount: Decimal, currency: str, idempotency_key: str, description: str, metadata: dict
    ) -> str:
        """Create (not confirm) the checkout's one payment; return its id."""

    def confirm_payment(
        self, *, payment_id: str, payment_method: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> Charge: ...

    def retrieve(self, *, payment_id: str, idempotency_key: str) -> Charge | None: ...

    def cancel_payment(self, *, payment_id: str, idempotency_key: str) -> Charge: ...

    def refund(
        self, *, payment_id: str, charge_idempotency_key: str, amount: Decimal, idempotency_key: str
    ) -> Refund: ...


class TestPaymentProvider:
    """A provider that behaves like a real one over the wire, with its ledger in Redis.

    Charges are stored under the request's idempotency key (first request wins,
    like Stripe), so a retried or re-queried charge is the same charge. The slow
    cards really take longer than the client's timeout; their outcome becomes
    visible to ``retrieve`` once the provider has "finished" processing.
    """

    __test__ = False  # not a pytest class
    payment_method_choices = TEST_PAYMENT_METHODS
    LEDGER_TTL = 7 * 24 * 3600

    def __init__(self) -> None:
        self.cache = caches["strict"]

    def _key(self, idempotency_key: str) -> str:
        return f"payments:test-provider:{idempotency_key}"

    @staticmethod
    def slow_seconds() -> float:
        return float(getattr(settings, "TEST_PAYMENT_SLOW_SECONDS", settings.PAYMENT_TIMEOUT_SECONDS + 2))

    OUTCOMES = {  # payment method -> (final status, decline code, slow?)
        PM_SUCCEEDS: (ChargeStatus.SUCCEEDED, "", False),
        PM_DECLINED: (ChargeStatus.DECLINED, "card_declined", False),
        PM_AUTHENTICATION_REQUIRED: (ChargeStatus.REQUIRES_ACTION, "", False),
        PM_TIMEOUT: (ChargeStatus.SUCCEEDED, "", True),
        PM_TIMEOUT_THEN_DECLINED: (ChargeStatus.DECLINED, "processing_error", True),
    }

    def check_payment_method(self, *, payment_method: str) -> str:
        return "" if payment_method in self.OUTCOMES else "resource_missing"

    def create_payment(
        self, *, amount: Decimal, currency: str, idempotency_key: str, description: str = "", metadata=None
    ) -> str:
        return f"pi_test_{idempotency_key[:24]}"

    def confirm_payment(
        self, *, payment_id: str, payment_method: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> Charge:
        """Charge once per idempotency key (first request wins, like Stripe); slow methods really are slow."""
        if payment_method not in self.OUTCOMES:
            return self._as_charge(self._declined(payment_id, amount, currency, "resource_missing"))
        status, decline_code, slow = self.OUTCOMES[payment_method]
        seconds = self.slow_seconds() if slow else 0.0
        record = {
            "id": f"ch_test_{uuid.uuid4().hex[:24]}",
            "payment_id": payment_id,
            "status": status,
            "decline_code": decline_code,
            "amount": str(amount),
            "currency": currency,
            "payment_method": payment_method,
            "available_at": (datetime.now(UTC) + timedelta(seconds=seconds)).timestamp(),
        }
        if not self.cache.add(self._key(idempotency_key), record, self.LEDGER_TTL):
            stored = self.cache.get(self._key(idempotency_key))
            if stored is None or stored["amount"] != str(amount) or stored["payment_method"] != payment_method:
                raise PaymentProviderError("idempotency key reused with different parameters")
            record, seconds = stored, max(0.0, stored["available_at"] - time.time())
        if seconds:
            time.sleep(seconds)
        return self._as_charge(record)

    # --- Connect: sellers' payout accounts and transfers (kept in Redis like the charges) ------------
    def create_payout_account(self, *, shop_id: int, email: str) -> str:
        return f"acct_test_{uuid.uuid4().hex[:16]}"

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        return f"{return_url}?test_onboarding={account_id}"

    def create_transfer(
        self,
        *,
        amount: Decimal,
        currency: str,
        destination: str,
        source_transaction: str,
        transfer_group: str,
        idempotency_key: str,
    ) -> str:
        record = {"id": f"tr_test_{uuid.uuid4().hex[:24]}", "amount": str(amount), "reversed": "0"}
        key = f"payments:test-provider:transfer:{idempotency_key}"
        if not self.cache.add(key, record, self.LEDGER_TTL):
            record = self.cache.get(key)
        self.cache.set(f"payments:test-provider:transfer-id:{record['id']}", key, self.LEDGER_TTL)
        return record["id"]

    def reverse_transfer(self, *, transfer_id: str, amount: Decimal, idempotency_key: str) -> str:
        done = self.cache.get(f"payments:test-provider:reversal:{idempotency_key}")
        if done:
            return done
        key = self.cache.get(f"payments:test-provider:transfer-id:{transfer_id}")
        record = self.cache.get(key) if key else None
        if record is None:
            raise PaymentProviderError("no such transfer")
        reversed_total = Decimal(record["reversed"]) + amount
        if reversed_total > Decimal(record["amount"]):
            raise PaymentProviderError("reversal exceeds the transfer")
        record["reversed"] = str(reversed_total)
        self.cache.set(key, record, self.LEDGER_TTL)
        reversal_id = f"trr_test_{uuid.uuid4().hex[:24]}"
        self.cache.set(f"payments:test-provider:reversal:{idempotency_key}", reversal_id, self.LEDGER_TTL)
        return reversal_id

    @staticmethod
    def _declined(payment_id: str, amount: Decimal, currency: str, code: str) -> dict:
        return {
            "id": "",
            "payment_id": payment_id,
            "status": ChargeStatus.DECLINED,
            "decline_code": code,
            "amount": str(amount),
            "currency": currency,
            "available_at": 0,
        }

    def authenticate(self, *, idempotency_key: str) -> Charge | None:
        """Play the buyer passing 3-D Secure (the test provider's stand-in for Stripe.js's next action)."""
        record = self.cache.get(self._key(idempotency_key))
        if record is None or record["status"] != ChargeStatus.REQUIRES_ACTION:
            return None if record is None else self._as_charge(record)
        record["status"] = ChargeStatus.SUCCEEDED
        self.cache.set(self._key(idempotency_key), record, self.LEDGER_TTL)
        return self._as_charge(record)

    def cancel_payment(self, *, payment_id: str = "", idempotency_key: str) -> Charge:
        record = self.cache.get(self._key(idempotency_key))
        if record is None:
            raise PaymentProviderError("no such payment")
        if record["status"] == ChargeStatus.REQUIRES_ACTION:
            record.update(status=ChargeStatus.DECLINED, decline_code="canceled")
            self.cache.set(self._key(idempotency_key), record, self.LEDGER_TTL)
        return self._as_charge(record)

    def retrieve(self, *, payment_id: str = "", idempotency_key: str) -> Charge | None:
        record = self.cache.get(self._key(idempotency_key))
        return None if record is None else self._as_charge(record)

    def refund(
        self, *, payment_id: str = "", charge_idempotency_key: str, amount: Decimal, idempotency_key: str
    ) -> Refund:
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
            payment_id=record.get("payment_id", ""),
            client_secret=f"{record.get('payment_id', '')}_secret_test",
        )


def test_payment_method_choices() -> list[tuple[str, str]] | None:
    """The configured provider's test payment methods to offer as a plain choice (None: use its own element)."""
    return getattr(import_string(settings.PAYMENT_PROVIDER), "payment_method_choices", None)


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
