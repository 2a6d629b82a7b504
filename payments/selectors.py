"""Reads of the shops' ledgers: balances are sums of entries, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from etsy.prepared import instances_from_row, prepared_cursor, select_list
from orders.models import Checkout, Order
from payments.models import LedgerEntry, Transfer
from shops.models import Shop

User = get_user_model()

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


# Hand-written and prepared, the reads of a paid checkout's worker task and of the checkout's answer: building
# them with the ORM cost more CPU than PostgreSQL spent running them, and PostgreSQL planned each on every run.
_UNTRANSFERRED_NETS_SQL = f"""
    SELECT e.order_id, SUM(e.amount) FROM {LedgerEntry._meta.db_table} AS e
     WHERE e.order_id = ANY(%s::bigint[]) AND e.kind <> %s
       AND NOT EXISTS (SELECT 1 FROM {Transfer._meta.db_table} AS t WHERE t.order_id = e.order_id)
     GROUP BY e.order_id
     ORDER BY e.order_id
"""


def list_untransferred_order_nets(*, order_ids: list[int]) -> dict[int, Decimal]:
    """The nets (as ``get_order_net``) of those of these orders that have no Transfer yet, in one query."""
    if not order_ids:
        return {}
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_UNTRANSFERRED_NETS_SQL, [list(order_ids), str(Kind.PAYOUT)])
        return {order_id: total or ZERO for order_id, total in cursor.fetchall()}


# What paying the sellers reads besides the orders (payments.services.payouts): of the shop its payout account,
# of its owner the email a test account is made with, of the checkout the charge and currency a transfer names;
# the rest is deferred (a shop's description and policy, a user's password hash were read for no one). The
# checkout's columns come first and are read into one instance all its orders share.
_PAID_CHECKOUT = ((Checkout, "c", ("currency", "provider_charge_id")),)
_PAID_ORDER_MODELS = ((Order, "o"), (Shop, "s", ("owner_id", "payout_account_id")), (User, "so", ("email",)))
_PAID_ORDERS_OF_CHECKOUT_SQL = f"""
    SELECT {select_list(_PAID_CHECKOUT + _PAID_ORDER_MODELS)}
      FROM {Order._meta.db_table} AS o
      JOIN {Shop._meta.db_table} AS s ON s.id = o.shop_id
      JOIN {User._meta.db_table} AS so ON so.id = s.owner_id
      JOIN {Checkout._meta.db_table} AS c ON c.id = o.checkout_id
     WHERE o.checkout_id = %s AND o.status = ANY(%s::text[])
     ORDER BY o.id
"""


def list_orders_of_checkout_in(*, checkout_id, statuses) -> list[Order]:
    """The checkout's orders in one of ``statuses``, in id order, each with its shop, the shop's owner and the
    checkout loaded (``_PAID_ORDER_MODELS``' fields; one prepared statement)."""
    params = [Checkout._meta.pk.to_python(checkout_id), [str(s) for s in statuses]]
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_PAID_ORDERS_OF_CHECKOUT_SQL, params)
        rows = cursor.fetchall()
    orders, checkout, order_at = [], None, 0
    for row in rows:
        if checkout is None:
            (checkout,), order_at = instances_from_row(row, _PAID_CHECKOUT)
        (order, shop, owner), _ = instances_from_row(row[order_at:], _PAID_ORDER_MODELS)
        Shop.owner.field.set_cached_value(shop, owner)
        Order.shop.field.set_cached_value(order, shop)
        Order.checkout.field.set_cached_value(order, checkout)
        orders.append(order)
    return orders


def get_refunded_total(*, order_id: int) -> Decimal:
    """The refunds booked for an order (negative or zero)."""
    total = LedgerEntry.objects.filter(order_id=order_id, kind=Kind.REFUND).aggregate(s=Sum("amount"))["s"]
    return total or ZERO


def get_refunded_amount(*, order_id: int) -> Decimal:
    """What the buyer has had back for an order (positive; orders' ``get_refunded_amount`` hook)."""
    return -get_refunded_total(order_id=order_id)


_REFUNDED_SQL = f"""
    SELECT order_id, SUM(amount) FROM {LedgerEntry._meta.db_table}
     WHERE order_id = ANY(%s::bigint[]) AND kind = %s
     GROUP BY order_id
"""


def get_refunded_amounts(*, order_ids) -> dict[int, Decimal]:
    """What the buyer has had back for each of these orders, in one query (orders without refunds are left out)."""
    ids = [int(pk) for pk in order_ids]
    if not ids:
        return {}
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_REFUNDED_SQL, [ids, str(Kind.REFUND)])
        return {order_id: -total for order_id, total in cursor.fetchall() if total}
