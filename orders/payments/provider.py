"""The provider interface: the charge and refund it reports, its errors, the protocol a provider implements."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


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
