"""Reads of the shops' ledgers: balances are sums of entries, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from orders.models import Order
from payments.models import LedgerEntry

ZERO = Decimal("0.00")
_SUM = DecimalField(max_digits=14, decimal_places=2)
Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class ShopPayments:
    balance: Decimal  # held by the marketplace for the shop (sum of every entry)
    pending: Decimal  # part of the balance from orders not transferred yet (no payout account, provider down)
    fees: Decimal  # fees taken, net of fee refunds (negative)
    payouts: Decimal  # transferred to the shop's payout account, net of reversals (negative)
    sales: Decimal
    refunds: Decimal


def _sum(condition: Q | None = None):
    return Coalesce(Sum("amount", filter=condition), Value(ZERO), output_field=_SUM)


def get_shop_payments(*, shop_id: int) -> ShopPayments:
    totals = LedgerEntry.objects.filter(shop_id=shop_id).aggregate(
        balance=_sum(),
        pending=_sum(Q(order__isnull=False) & Q(order__transfer__isnull=True)),
        fees=_sum(Q(kind__in=[Kind.FEE, Kind.FEE_REFUND])),
        payouts=_sum(Q(kind=Kind.PAYOUT)),
        sales=_sum(Q(kind=Kind.SALE)),
        refunds=_sum(Q(kind=Kind.REFUND)),
    )
    return ShopPayments(**totals)


def list_ledger_entries(*, shop_id: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(shop_id=shop_id).order_by("-created_at", "-id")


def list_order_nets(*, shop_id: int) -> QuerySet[Order]:
    """The shop's orders with money in the ledger, each with ``net`` = its entries other than payouts."""
    return (
        Order.objects.filter(shop_id=shop_id, ledger_entries__isnull=False)
        .annotate(ledger_net=_sum_entries())
        .order_by("-created_at", "-id")
    )


def _sum_entries():
    return Coalesce(
        Sum("ledger_entries__amount", filter=~Q(ledger_entries__kind=Kind.PAYOUT)), Value(ZERO), output_field=_SUM
    )


def get_order_net(*, order_id: int) -> Decimal:
    """The order's net in the ledger: its entries other than payouts (sale, fees, refunds, fee refunds, disputes)."""
    total = LedgerEntry.objects.filter(order_id=order_id).exclude(kind=Kind.PAYOUT).aggregate(s=Sum("amount"))["s"]
    return total or ZERO


def list_untransferred_order_nets(*, order_ids: list[int]) -> dict[int, Decimal]:
    """The nets (as ``get_order_net``) of those of these orders that have no Transfer yet, in one query."""
    rows = (
        LedgerEntry.objects.filter(order_id__in=order_ids, order__transfer__isnull=True)
        .exclude(kind=Kind.PAYOUT)
        .values("order_id")
        .annotate(s=Sum("amount"))
        .order_by("order_id")
        .values_list("order_id", "s")
    )
    return {order_id: total or ZERO for order_id, total in rows}


def get_refunded_total(*, order_id: int) -> Decimal:
    """The refunds booked for an order (negative or zero)."""
    total = LedgerEntry.objects.filter(order_id=order_id, kind=Kind.REFUND).aggregate(s=Sum("amount"))["s"]
    return total or ZERO


def get_refunded_amount(*, order_id: int) -> Decimal:
    """What the buyer has had back for an order (positive; orders' ``get_refunded_amount`` hook)."""
    return -get_refunded_total(order_id=order_id)


def get_refunded_amounts(*, order_ids) -> dict[int, Decimal]:
    """What the buyer has had back for each of these orders, in one query (orders without refunds are left out)."""
    rows = (
        LedgerEntry.objects.filter(order_id__in=list(order_ids), kind=Kind.REFUND)
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values_list("order_id", "total")
    )
    return {order_id: -total for order_id, total in rows if total}
