"""The payments app's outbox handlers (registered with ``etsy.outbox`` in ``PaymentsConfig.ready``)."""

from __future__ import annotations

from etsy.outbox import DONE
from payments.services import payouts


def pay_sellers(payload: dict) -> str:
    """A checkout was paid: ledger entries and one transfer per order (the outbox retries on errors)."""
    payouts.pay_sellers_for_checkout(checkout_id=payload["checkout_id"])
    return DONE
