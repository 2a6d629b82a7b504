"""The books bench_load checks after its race: units sold = stock decrements = order item quantities, charges =
sellers' transfers + marketplace fees + refunds to the cent (payments ledger; refunds = what the provider
refunded), no negative stock, no unique item sold twice, no duplicate order per checkout and shop, every
successful answer one paid checkout, no reservation held past its window, and the test payment provider's ledger
(Redis) holding exactly the paid checkouts' totals. Before they are read, sellers refund some orders and the
outbox is settled. Call with Django set up.
"""

from __future__ import annotations

from decimal import Decimal

from bench.race import RaceSeed, Tally
from bench.report import percentiles


def check_books(*, data: RaceSeed, tally: Tally) -> dict:
    """Return {check name: (ok, detail)} over the seeded listings (call with Django set up)."""
    from datetime import timedelta

    from django.conf import settings
    from django.core.cache import caches
    from django.db.models import Count, Sum
    from django.utils import timezone

    from cart.models import CartItem
    from catalog.models import Product
    from orders.models import Checkout, Order, OrderItem
    from orders.payments import TestPaymentProvider
    from shops.models import Shop

    ids = list(data.initial_stock)
    stock_now = dict(Product.objects.filter(pk__in=ids).values_list("pk", "quantity"))
    decrements = sum(data.initial_stock[pk] - stock_now[pk] for pk in ids)
    live_items = OrderItem.objects.filter(product_id__in=ids).exclude(order__status=Order.Status.CANCELLED)
    units_sold = live_items.aggregate(n=Sum("quantity"))["n"] or 0
    shop_sales = Shop.objects.filter(products__pk__in=ids).distinct().aggregate(n=Sum("sales_count"))["n"] or 0
    orders = Order.objects.filter(items__product_id__in=ids).distinct()
    checkouts = Checkout.objects.filter(orders__in=orders).distinct()
    paid = checkouts.filter(payment_status=Checkout.PaymentStatus.PAID)
    per_shop = (
        Order.objects.filter(pk__in=orders)
        .values("checkout_id", "shop_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    unique_oversold = (
        live_items.filter(product_id__in=data.unique_ids)
        .values("product_id")
        .annotate(n=Sum("quantity"))
        .filter(n__gt=1)
        .count()
    )
    now = timezone.now()
    window = timedelta(minutes=settings.RESERVATION_MINUTES, seconds=5)
    holds = CartItem.objects.filter(product_id__in=ids, reserved_until__gt=now)
    double_holds = holds.values("product_id").annotate(n=Count("id")).filter(n__gt=1).count()
    overlong_holds = holds.filter(reserved_until__gt=now + window).count()
    held_sold_out = holds.filter(product__quantity=0).count()

    provider = TestPaymentProvider()
    charged = Decimal("0")
    for checkout in paid:
        charge = provider.retrieve(idempotency_key=checkout.provider_idempotency_key)
        if charge is not None and charge.status == "succeeded":
            charged += charge.amount
    ledger_total = Decimal("0")
    strict = caches["strict"]
    prefix = "payments:test-provider:"
    for key in strict.keys(f"{prefix}*"):
        provider_key = key[len(prefix) :]
        if ":" in provider_key:  # refunds, transfers, reversals: not charges
            continue
        record = strict.get(key)
        if record and record.get("status") == "succeeded":
            checkout = Checkout.objects.filter(provider_idempotency_key=provider_key).first()
            if checkout is None or checkouts.filter(pk=checkout.pk).exists():
                ledger_total += Decimal(record["amount"])
    money = _money_books(orders=orders, charged=charged, provider_refunded=_provider_refunded(strict, checkouts))
    order_total = Order.objects.filter(pk__in=orders, status=Order.Status.PAID).aggregate(t=Sum("total"))[
        "t"
    ] or Decimal("0")
    return {
        "units sold = stock decrements": (units_sold == decrements, f"{units_sold} = {decrements}"),
        "shops' sales counts = units sold": (shop_sales == units_sold, f"{shop_sales} in {live_items.count()} lines"),
        "no negative stock": (min(stock_now.values()) >= 0, f"min {min(stock_now.values())}"),
        "no unique item sold twice": (unique_oversold == 0, f"{unique_oversold} oversold"),
        "one order per checkout and shop": (per_shop == 0, f"{per_shop} duplicates"),
        "each successful answer is one paid checkout": (
            paid.count() == tally.checkouts_ok,
            f"{paid.count()} paid, {tally.checkouts_ok} answers",
        ),
        "replays created nothing": (tally.replay_mismatches == 0, f"{tally.replays} replays"),
        "no reservation held past its window": (
            overlong_holds == 0 and double_holds == 0 and held_sold_out == 0,
            f"{overlong_holds} overlong, {double_holds} doubled, {held_sold_out} on sold-out items",
        ),
        "order totals = charges (provider ledger)": (
            order_total == charged == ledger_total,
            f"{order_total} = {charged} = {ledger_total}",
        ),
        "charges = transfers + fees + refunds (+ held), to the cent": money,
        "no 5xx": (tally.errors_5xx == 0, f"{tally.errors_5xx}"),
    }


def _provider_refunded(strict, checkouts) -> Decimal:
    """What the test provider refunded for these checkouts (its per-charge counters, in cents)."""
    client = strict.client.get_client(write=False)
    cents = 0
    for key in checkouts.values_list("provider_idempotency_key", flat=True):
        cents += int(client.get(strict.make_key(f"payments:test-provider:refunded:{key}")) or 0)
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _money_books(*, orders, charged: Decimal, provider_refunded: Decimal) -> tuple[bool, str]:
    """Every cent charged went to a seller (transfers), to the marketplace (fees, net of fee refunds) or
    back to a buyer (refunds); whatever is neither is still held for a shop (no payout account yet)."""
    from django.db.models import Sum

    from payments.models import LedgerEntry

    def total(*kinds: str) -> Decimal:
        entries = LedgerEntry.objects.filter(order__in=orders, kind__in=kinds)
        return entries.aggregate(s=Sum("amount"))["s"] or Decimal("0")

    transfers = -total("payout")
    fees = -total("fee", "fee_refund")
    refunds = -total("refund")
    held = total("sale", "fee", "refund", "fee_refund", "dispute", "payout")
    ok = charged == transfers + fees + refunds + held and held >= 0 and refunds == provider_refunded
    return ok, f"{charged} = {transfers} + {fees} + {refunds} (+ {held} held); provider refunded {provider_refunded}"


def _milliseconds(seconds: dict[str, float]) -> dict[str, float]:
    return {name: round(value * 1000, 1) for name, value in seconds.items()}


def summary(*, tally: Tally, books: dict, duration: float, workers: int, concurrency: int) -> dict:
    return {
        "duration_s": duration,
        "server_workers": workers,
        "buyers": concurrency,
        "attempts": tally.attempts,
        "checkouts": tally.checkouts_ok,
        "orders": tally.orders,
        "conflicts": tally.conflicts,
        "replays": tally.replays,
        "errors_5xx": tally.errors_5xx,
        "unexpected": dict(tally.unexpected),
        "latency_ms": {
            kind: {"n": len(v), **_milliseconds(percentiles(v))} for kind, v in sorted(tally.latencies.items())
        },
        "books": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in books.items()},
        "books_balanced": all(ok for ok, _ in books.values()),
    }


def refund_some(*, data: RaceSeed) -> int:
    """Sellers refund some paid orders (a third of every third order, all of every fifth) so the money books
    cover refunds, fee refunds and transfer reversals too; no restock (the stock books stay as sold)."""
    from decimal import ROUND_DOWN

    from orders.models import Order
    from payments.services.refunds import refund_order

    orders = Order.objects.filter(items__product_id__in=list(data.initial_stock), status=Order.Status.PAID)
    count = 0
    for index, order in enumerate(orders.distinct().order_by("pk")):
        if index % 5 == 0:
            refund_order(order=order)
        elif index % 3 == 0:
            refund_order(order=order, amount=(order.total / 3).quantize(Decimal("0.01"), ROUND_DOWN))
        else:
            continue
        count += 1
    return count


def settle_outbox() -> None:
    """Run what the outbox still holds (sellers' transfers, refunds) before the books are read."""
    from datetime import timedelta

    from django.utils import timezone

    from etsy.outbox import services as outbox_services

    for _ in range(3):
        if not outbox_services.relay_pending(now=timezone.now() + timedelta(minutes=10)):
            break
