"""Concurrent checkouts of different listings of one shop never deadlock (found by bench-load:
the shop's sales-count update re-syncs every search_listing row of the shop, while a parallel
checkout already held one of those rows through its stock update)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from cart import services as cart_services
from catalog.models import Product
from etsy.breakers import reset_all
from orders.models import Order
from orders.services.checkout import ShippingAddress, place_order
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ADDRESS = ShippingAddress(
    name="Ada Buyer", line1="1 Market Street", line2="", city="Hudson", postcode="12534", country="US"
)
THREADS = 6
ROUNDS = 4


def test_parallel_checkouts_of_one_shops_listings_all_succeed_without_deadlock(category, no_vocabulary_refresh):
    reset_all()
    shop = ShopFactory()
    outcomes: list[str] = []
    lock = threading.Lock()
    for round_number in range(ROUNDS):
        buyers = [UserFactory() for _ in range(THREADS)]
        products = [
            ProductFactory(shop=shop, category=category, price=Decimal("5.00"), quantity=3) for _ in range(THREADS)
        ]
        for buyer, product in zip(buyers, products, strict=True):
            cart_services.add_item(user=buyer, product_id=product.pk)
        barrier = threading.Barrier(THREADS)

        def buy(buyer, key):
            try:
                barrier.wait(timeout=30)
                place_order(buyer=buyer, address=ADDRESS, payment_method="pm_card_visa", idempotency_key=key)
                result = "ok"
            except Exception as exc:  # recorded: the assertion below names it
                result = f"{type(exc).__name__}: {str(exc)[:120]}"
            finally:
                connection.close()
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=buy, args=(b, f"race-{round_number}-{i}")) for i, b in enumerate(buyers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert [o for o in outcomes if o != "ok"] == []
        assert [Product.objects.get(pk=p.pk).quantity for p in products] == [2] * THREADS
    failures = [o for o in outcomes if o != "ok"]
    assert not failures, failures
    assert Order.objects.filter(shop=shop, status=Order.Status.PAID).count() == THREADS * ROUNDS
    shop.refresh_from_db()
    assert shop.sales_count == THREADS * ROUNDS
