"""Real concurrent transactions: threads released together by a barrier, each on its own connection."""

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cart import services as cart_services
from cart.exceptions import ItemReserved
from catalog.models import Product
from etsy import idempotency
from orders import payments
from orders.exceptions import CheckoutBusy
from orders.models import Checkout, Order, OrderItem
from orders.services.checkout import fingerprint_checkout, place_order
from tests.accounts.factories import UserFactory
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory
from tests.orders.conftest import in_thread_db, race
from tests.shops.factories import ShopFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FIGURES: dict = {}


def test_thirty_buyers_adding_five_unique_items_get_exactly_five_holds():
    items = [ProductFactory(quantity=1) for _ in range(5)]
    buyers = [UserFactory() for _ in range(30)]

    def add(i):
        cart_services.add_item(user=buyers[i], product_id=items[i % 5].pk)
        return "held"

    outcomes = Counter(race(30, add))

    assert outcomes == {"held": 5, ItemReserved.code: 25}
    for product in items:
        assert product.cart_items.filter(reserved_until__gt=timezone.now()).count() == 1
    FIGURES["add_race"] = dict(outcomes)


def test_thirty_buyers_checking_out_five_unique_items_sell_exactly_five(address):
    rounds = 2
    totals = Counter()
    for _ in range(rounds):
        items = [ProductFactory(quantity=1, price=Decimal("12.00")) for _ in range(5)]
        buyers = [UserFactory() for _ in range(30)]
        past = timezone.now() - timedelta(minutes=1)  # holds expired: only the stock decides
        for i, buyer in enumerate(buyers):
            CartItemFactory(user=buyer, product=items[i % 5], reserved_until=past)

        def checkout(i):
            result = place_order(
                buyer=buyers[i], address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key=f"r{i}"
            )
            return result.payment_status

        outcomes = Counter(race(30, checkout))
        totals.update(outcomes)

        assert outcomes["paid"] == 5
        assert sum(outcomes.values()) == 30 and set(outcomes) <= {"paid", "item_unavailable", "checkout_busy"}
        assert [Product.objects.get(pk=p.pk).quantity for p in items] == [0] * 5
        sold = OrderItem.objects.filter(product__in=items)
        assert sum(sold.values_list("quantity", flat=True)) == 5
        assert Order.objects.filter(items__product__in=items).exclude(status="paid").count() == 0
    assert not Product.objects.filter(quantity__lt=0).exists()
    FIGURES["checkout_race"] = {"attempts": 30 * rounds, **totals}
    print("\nconcurrency figures:", FIGURES)


def test_overlapping_multi_shop_carts_are_all_or_nothing_without_deadlock(address):
    rounds, outcomes_seen = 8, Counter()
    for round_no in range(rounds):
        stock = 1 if round_no % 2 == 0 else 2  # contended rounds and rounds where both succeed
        shops = [ShopFactory() for _ in range(3)]
        shared = [ProductFactory(shop=shop, quantity=stock) for shop in shops]
        own = [ProductFactory(shop=shops[2 - k], quantity=5) for k in range(2)]
        buyers = [UserFactory(), UserFactory()]
        for k, buyer in enumerate(buyers):
            cart = shared + [own[k]] if k == 0 else [own[k]] + list(reversed(shared))
            for product in cart:
                CartItemFactory(user=buyer, product=product, reserved_until=None)

        def checkout(i):
            return place_order(
                buyer=buyers[i], address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key=f"o{i}"
            ).payment_status

        outcomes = race(2, checkout)
        outcomes_seen.update(outcomes)
        if stock == 1:
            assert sorted(outcomes) == ["item_unavailable", "paid"]
        else:
            assert outcomes == ["paid", "paid"]
        for k, buyer in enumerate(buyers):
            orders = Order.objects.filter(buyer=buyer)
            if outcomes[k] == "paid":
                assert orders.count() == 3 and OrderItem.objects.filter(order__buyer=buyer).count() == 4
            else:
                # Nothing taken; the sold lines left the cart (the service's rule), the buyer's own line stays.
                assert not orders.exists()
                assert list(buyer.cart_items.values_list("product_id", flat=True)) == [own[k].pk]
        assert [Product.objects.get(pk=p.pk).quantity for p in shared] == [0, 0, 0]
    FIGURES["overlap"] = {"rounds": rounds, **outcomes_seen}
    print("\noverlapping carts:", FIGURES["overlap"])


def test_twenty_parallel_submissions_with_one_key_make_one_checkout_and_one_charge(address, buyer):
    shops = [ShopFactory() for _ in range(3)]
    for shop in shops:
        cart_services.add_item(user=buyer, product_id=ProductFactory(shop=shop, quantity=1).pk)
    payload = {"card": payments.PM_SUCCEEDS}
    scope = idempotency.user_scope(buyer)

    def submit(_):
        fp = fingerprint_checkout(buyer=buyer, payload=payload)
        with idempotency.attempt(scope=scope, key="one-key", fingerprint=fp) as att:
            if att.replay is not None:
                response = att.replay.to_response()
                return ("replay", response.status_code, response.content)
            result = place_order(
                buyer=buyer, address=address, payment_method=payload["card"], idempotency_key="one-key"
            )
            response = att.complete_json(status=201, data={"checkout": str(result.checkout.pk)})
            att.also_matches(fingerprint_checkout(buyer=buyer, payload=payload))
            return ("first", response.status_code, response.content)

    results = race(20, submit)

    firsts = [r for r in results if isinstance(r, tuple) and r[0] == "first"]
    assert len(firsts) == 1
    others = Counter(r if isinstance(r, str) else r[0] for r in results if r not in firsts)
    assert set(others) <= {"request_in_progress", "replay"}
    assert all(r[2] == firsts[0][2] for r in results if isinstance(r, tuple))
    checkout = Checkout.objects.get()
    assert checkout.payment_attempts == 1 and Order.objects.count() == 3
    assert payments.get_provider().retrieve(idempotency_key=checkout.provider_idempotency_key).status == "succeeded"
    later = submit(0)
    assert later[0] == "replay" and later[2] == firsts[0][2]
    FIGURES["idempotency"] = {"submissions": 20, "first": 1, **others}
    print("\nidempotency race:", FIGURES["idempotency"])


def test_contended_checkout_gives_up_at_the_lock_timeout(address, buyer, settings):
    settings.CHECKOUT_LOCK_TIMEOUT_MS = 200
    product = ProductFactory(quantity=3)
    cart_services.add_item(user=buyer, product_id=product.pk)
    locked, release = threading.Event(), threading.Event()

    @in_thread_db
    def hold_lock():
        with transaction.atomic():
            Product.objects.select_for_update().get(pk=product.pk)
            locked.set()
            release.wait(5)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(5)
    try:
        with pytest.raises(CheckoutBusy):
            place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key="busy")
    finally:
        release.set()
        holder.join()
    assert not Checkout.objects.exists() and Product.objects.get(pk=product.pk).quantity == 3
    connection.close()
