"""Measure checkout latency for a 3-shop cart against the configured database, Redis and broker.

Creates its own shops, products and buyer (all named "bench-checkout-<run>"), times
``place_order`` only (filling the cart is not timed), prints p50/p95/p99, and deletes
everything it created afterwards.

    python manage.py bench_checkout --checkouts 200
"""

from __future__ import annotations

import logging
import secrets
import statistics
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Category, Product
from catalog.stock import create_implicit_offerings
from etsy.breakers import reset_all
from etsy.outbox.models import OutboxMessage
from orders import payments
from orders.models import Checkout, Order, OrderItem
from orders.services.checkout import ShippingAddress, place_order
from shops.models import Shop


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Command(BaseCommand):
    help = "Benchmark checkout latency (p50/p95/p99) for a 3-shop cart."

    def add_arguments(self, parser):
        parser.add_argument("--checkouts", type=int, default=200)
        parser.add_argument("--warmup", type=int, default=10)
        parser.add_argument("--shops", type=int, default=3)

    def handle(self, *args, checkouts: int, warmup: int, shops: int, **options):
        # One "checkout completed" event per checkout would bury the progress and the result.
        logging.getLogger("orders").setLevel(logging.WARNING)
        run = f"bench-checkout-{secrets.token_hex(4)}"
        total = checkouts + warmup
        self.stdout.write(f"[{run}] creating {shops} shops, {shops} products per checkout, 1 buyer ...")
        created = self._create_fixtures(run, shops=shops, checkouts=total)
        address = ShippingAddress(name="Bench Buyer", line1="1 Bench Road", city="Hudson", postcode="12534")
        timings: list[float] = []
        try:
            reset_all()
            buyer = created["buyer"]
            for index in range(total):
                for shop_products in created["products"]:
                    cart_services.add_item(user=buyer, product_id=shop_products[index].pk)
                started = time.perf_counter()
                place_order(
                    buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key=f"{run}-{index}"
                )
                elapsed = time.perf_counter() - started
                if index >= warmup:
                    timings.append(elapsed)
                if (index + 1) % max(1, total // 10) == 0:
                    self.stdout.write(f"  {index + 1}/{total} checkouts, last {elapsed * 1000:.1f} ms")
            self._report(timings, shops)
        finally:
            self._clean_up(created)
            self.stdout.write(f"[{run}] cleaned up")

    def _create_fixtures(self, run: str, *, shops: int, checkouts: int) -> dict:
        User = get_user_model()
        buyer = User.objects.create_user(email=f"{run}-buyer@bench.invalid", password=None)
        category = Category.objects.create(name=run, slug=run)
        shop_rows, products = [], []
        for n in range(shops):
            owner = User.objects.create_user(email=f"{run}-seller{n}@bench.invalid", password=None)
            shop = Shop.objects.create(owner=owner, name=f"{run} shop {n}", slug=f"{run}-shop-{n}")
            shop_rows.append(shop)
            # The first shop sells one-of-a-kind items, the others stocked ones: both paths are timed.
            created = list(
                Product.objects.bulk_create(
                    Product(
                        shop=shop,
                        category=category,
                        title=f"{run} item {n}-{i}",
                        slug=f"{run}-{n}-{i}",
                        price=Decimal("12.50") + n,
                        quantity=1 if n == 0 else 2,
                    )
                    for i in range(checkouts)
                )
            )
            create_implicit_offerings(product_ids=[p.pk for p in created])
            products.append(created)
        return {
            "buyer": buyer,
            "category": category,
            "shops": shop_rows,
            "products": products,
            "users": [buyer.pk] + [s.owner_id for s in shop_rows],
        }

    def _report(self, timings: list[float], shops: int) -> None:
        ms = [t * 1000 for t in timings]
        self.stdout.write(
            self.style.SUCCESS(
                f"checkout latency, {shops}-shop cart, {len(ms)} checkouts: "
                f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
                f"mean {statistics.fmean(ms):.1f} ms, max {max(ms):.1f} ms, "
                f"{len(ms) / sum(timings):.1f} checkouts/s sequential"
            )
        )

    def _clean_up(self, created: dict) -> None:
        User = get_user_model()
        order_ids = list(Order.objects.filter(buyer=created["buyer"]).values_list("pk", flat=True))
        OutboxMessage.objects.filter(payload__order_id__in=order_ids).delete()
        OrderItem.objects.filter(order_id__in=order_ids).delete()
        Order.objects.filter(pk__in=order_ids).delete()
        Checkout.objects.filter(buyer=created["buyer"]).delete()
        CartItem.objects.filter(user=created["buyer"]).delete()
        Product.objects.filter(category=created["category"]).delete()
        Shop.objects.filter(pk__in=[s.pk for s in created["shops"]]).delete()
        created["category"].delete()
        User.objects.filter(pk__in=created["users"]).delete()
