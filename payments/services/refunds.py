"""Refunds: full or partial, never more than was paid; each reverses its share of the transfer and fee.

The seller's decision is booked at once under the order's lock (refund and fee refund entries, the
outbox row that carries it out), so two refunds can never together exceed the payment. The outbox
handler then refunds the buyer at the provider, reverses the proportional part of the seller's
transfer (booked as a positive payout entry) and emails the buyer; every step is idempotent by key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.db import transaction
from django.db.models import Sum

from catalog.signals import products_changed
from catalog.stock import lock_offerings, lock_products, restock_offerings
from etsy import outbox
from etsy.emails import send_templated_email
from orders import payments as provider_calls
from orders.models import Order
from payments import signals
from payments.exceptions import OrderNotRefundable, RefundTooLarge
from payments.models import LedgerEntry, Transfer
from payments.services import ledger

logger = logging.getLogger(__name__)

TOPIC_REFUND_ISSUED = "payments.refund_issued"
CENT = Decimal("0.01")
Kind = LedgerEntry.Kind
REFUNDABLE = [Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.CANCELLED]


@dataclass(frozen=True)
class RefundBooked:
    order_id: int
    number: int
    amount: Decimal
    fee_refund: Decimal
    remaining: Decimal


def _sum(order_id: int, kind: str) -> Decimal:
    total = LedgerEntry.objects.filter(order_id=order_id, kind=kind).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0.00")


def has_remaining(*, order: Order) -> bool:
    """Whether a paid order (its sale booked) still has money the buyer has not had back."""
    return bool(_sum(order.pk, Kind.SALE)) and order.total + _sum(order.pk, Kind.REFUND) > 0


def refund_order(*, order: Order, amount: Decimal | None = None, restock_items: bool = False) -> RefundBooked:
    """Refund ``amount`` of a paid order (None: what remains); book it and schedule the provider calls.

    Locks the order. Raises OrderNotRefundable, RefundTooLarge (the ledger is then unchanged).
    ``restock_items`` (the piece is back with the seller) puts the items back on sale, only with the
    refund that completes the order's refund. Emails the buyer after the provider refunded.
    """
    with transaction.atomic():
        locked = Order.objects.locked().select_related("checkout").get(pk=order.pk)
        if locked.status not in REFUNDABLE or not _sum(locked.pk, Kind.SALE):
            raise OrderNotRefundable()
        refunded = -_sum(locked.pk, Kind.REFUND)
        remaining = locked.total - refunded
        amount = remaining if amount is None else amount.quantize(CENT)
        if amount <= 0 or amount > remaining:
            raise RefundTooLarge(extra={"remaining": str(remaining)})
        number = LedgerEntry.objects.filter(order_id=locked.pk, kind=Kind.REFUND).count() + 1
        completes = amount == remaining
        if completes:  # the last refund takes exactly what is left of the fees: the books close to the cent
            fee_share = locked.fees - _sum(locked.pk, Kind.FEE_REFUND)
        else:
            fee_share = (locked.fees * amount / locked.total).quantize(CENT, ROUND_HALF_UP)
        key = f"order:{locked.pk}:refund:{number}"
        ledger.append(shop_id=locked.shop_id, order_id=locked.pk, kind=Kind.REFUND, amount=-amount, key=key)
        if fee_share > 0:
            ledger.append(
                shop_id=locked.shop_id, order_id=locked.pk, kind=Kind.FEE_REFUND, amount=fee_share, key=f"{key}:fee"
            )
        if restock_items and completes and locked.status != Order.Status.CANCELLED:
            _restock(locked)
        outbox.publish(
            topic=TOPIC_REFUND_ISSUED,
            payload={"order_id": locked.pk, "number": number, "amount": str(amount), "fee_share": str(fee_share)},
        )
        transaction.on_commit(
            partial(
                signals.refund_booked.send,
                sender=RefundBooked,
                order_id=locked.pk,
                amount=amount,
                remaining=remaining - amount,
            )
        )
    logger.info("refund booked", extra={"event": "refund_booked", "order_id": order.pk, "amount": str(amount)})
    return RefundBooked(
        order_id=order.pk, number=number, amount=amount, fee_refund=fee_share, remaining=remaining - amount
    )


def _restock(order: Order) -> None:
    """Give the order's units back to the offerings they were sold from (lines whose offering is gone: none)."""
    quantities: dict[int, int] = {}
    product_ids: set[int] = set()
    for item in order.items.all():
        if item.offering_id is not None and item.product_id is not None:
            quantities[item.offering_id] = quantities.get(item.offering_id, 0) + item.quantity
            product_ids.add(item.product_id)
    lock_products(product_ids=product_ids)  # listings, then their offerings: catalog.stock's lock order
    lock_offerings(offering_ids=quantities)
    restock_offerings(quantities=quantities)
    transaction.on_commit(partial(_send_products_changed, sorted(product_ids)))


def _send_products_changed(product_ids: list[int]) -> None:
    products_changed.send(sender=Order, product_ids=product_ids, reason="stock")


def carry_out_refund(*, order_id: int, number: int, amount: Decimal, fee_share: Decimal) -> None:
    """Refund the buyer at the provider, reverse the seller's share of the transfer, email the buyer (once each).

    Raises PaymentError / PaymentsOpenCircuit: the outbox retries with the same idempotency keys.
    """
    order = Order.objects.select_related("checkout", "buyer", "shop").get(pk=order_id)
    key = f"order:{order_id}:refund:{number}"
    checkout = order.checkout
    payment_id, charge_key = checkout.provider_payment_id, checkout.provider_idempotency_key
    provider = provider_calls.get_provider()
    refund = provider_calls.guarded(
        lambda: provider.refund(
            payment_id=payment_id, charge_idempotency_key=charge_key, amount=amount, idempotency_key=key
        )
    )
    transfer = Transfer.objects.filter(order_id=order_id).first()
    booked = LedgerEntry.objects.filter(key=key).values_list("created_at", flat=True).first()
    # A transfer made after this refund was booked already paid the reduced net: nothing to reverse.
    if transfer is not None and (booked is None or transfer.created_at < booked):
        reversed_before = _sum(order_id, Kind.PAYOUT) + transfer.amount  # payouts: -transfer + reversals
        share = min(amount - fee_share, transfer.amount - reversed_before)
        if share > 0:
            transfer_id = transfer.provider_transfer_id
            reversal_id = provider_calls.guarded(
                lambda: provider.reverse_transfer(
                    transfer_id=transfer_id, amount=share, idempotency_key=f"{key}:reversal"
                )
            )
            ledger.append(
                shop_id=order.shop_id,
                order_id=order_id,
                kind=Kind.PAYOUT,
                amount=share,
                key=f"{key}:reversal",
                reference=reversal_id,
            )
    _email_buyer(order=order, amount=amount)
    logger.info("refund carried out", extra={"order_id": order_id, "refund_id": refund.id, "amount": str(amount)})


def _email_buyer(*, order: Order, amount: Decimal) -> None:
    context = {"order": order, "shop": order.shop, "amount": amount}
    send_templated_email(template="order_refunded_buyer", to=[order.buyer.email], context=context)
