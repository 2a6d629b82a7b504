"""The built-in test provider: behaves like a real one over the wire, with its ledger in Redis."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import caches

from orders.payments.methods import (
    PM_AUTHENTICATION_REQUIRED,
    PM_DECLINED,
    PM_SUCCEEDS,
    PM_TIMEOUT,
    PM_TIMEOUT_THEN_DECLINED,
    TEST_PAYMENT_METHODS,
)
from orders.payments.provider import Charge, ChargeStatus, PaymentProviderError, Refund


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
