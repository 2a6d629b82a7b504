"""Appending to the shops' ledgers (never updating): each movement once, by its key."""

from __future__ import annotations

from decimal import Decimal

from payments.models import LedgerEntry

Kind = LedgerEntry.Kind


def append(*, shop_id: int, order_id: int | None, kind: str, amount: Decimal, key: str, reference: str = "") -> bool:
    """Append one entry unless its ``key`` is already in the ledger; return whether it was added."""
    _, created = LedgerEntry.objects.get_or_create(
        key=key,
        defaults={"shop_id": shop_id, "order_id": order_id, "kind": kind, "amount": amount, "reference": reference},
    )
    return created


def record_sale(*, order) -> None:
    """The order's sale and its fees (frozen on the order): together they are the seller's net."""
    append(
        shop_id=order.shop_id,
        order_id=order.pk,
        kind=Kind.SALE,
        amount=order.total,
        key=f"sale:order:{order.pk}",
        reference=order.checkout.provider_charge_id,
    )
    if order.fees:
        append(shop_id=order.shop_id, order_id=order.pk, kind=Kind.FEE, amount=-order.fees, key=f"fee:order:{order.pk}")
