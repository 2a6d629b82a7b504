"""The marketplace's fee rule (one home): frozen on each order when it is created.

A transaction fee of ``MARKETPLACE_FEE_PERCENT`` of items plus shipping (Etsy's is 6.5 %) and a
payment-processing fee of ``PAYMENT_PROCESSING_PERCENT`` of the order total plus
``PAYMENT_PROCESSING_FIXED`` per order. The seller's net is the order total less both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderFees:
    transaction_fee: Decimal
    processing_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.transaction_fee + self.processing_fee


def fees_for(*, subtotal: Decimal, shipping: Decimal) -> OrderFees:
    """Return the fees of an order of ``subtotal`` + ``shipping`` under today's rule (never above its total)."""
    total = subtotal + shipping
    transaction = (total * Decimal(str(settings.MARKETPLACE_FEE_PERCENT)) / 100).quantize(CENT, ROUND_HALF_UP)
    processing = (
        total * Decimal(str(settings.PAYMENT_PROCESSING_PERCENT)) / 100
        + Decimal(str(settings.PAYMENT_PROCESSING_FIXED))
    ).quantize(CENT, ROUND_HALF_UP)
    transaction = min(transaction, total)
    return OrderFees(transaction_fee=transaction, processing_fee=min(processing, total - transaction))
