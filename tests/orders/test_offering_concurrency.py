"""Per-offering races: real concurrent transactions (threads released together by a barrier, each on its own
connection), as in test_concurrency."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Offering, Product
from orders import payments
from orders.models import Order, OrderItem
from orders.services.checkout import place_order
from tests.accounts.factories import UserFactory
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory, add_variations
from tests.orders.conftest import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BUYERS = 30


def test_the_last_ring_of_one_size_is_sold_once_to_thirty_buyers_and_its_sibling_size_is_untouched(address):
    rounds = 3
    for round_number in range(rounds):
        ring = ProductFactory(title=f"Stacking ring {round_number}", price=Decimal("40.00"), quantity=1)
        sizes = add_variations(ring, {"Size": ["7", "8"]}, quantity=5)
        last, sibling = sizes[("7",)], sizes[("8",)]
        Offering.objects.filter(pk=last.pk).update(quantity=1)
        Offering.objects.filter(pk=sibling.pk).update(price=Decimal("42.50"))
        from catalog.stock import refresh_listing_totals

        refresh_listing_totals(product_ids=[ring.pk])
        buyers = [UserFactory() for _ in range(BUYERS)]
        past = timezone.now() - timedelta(minutes=1)  # holds expired: only the stock decides
        for buyer in buyers:
            CartItemFactory(user=buyer, product=ring, offering=last, reserved_until=past)

        def checkout(i):
            return place_order(
                buyer=buyers[i], address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key=f"v{i}"
            ).payment_status

        outcomes = Counter(race(BUYERS, checkout))

        assert outcomes["paid"] == 1, outcomes
        assert sum(outcomes.values()) == BUYERS
        assert set(outcomes) <= {"paid", "item_unavailable", "checkout_busy"}, outcomes
        sold = OrderItem.objects.filter(offering=last, order__status=Order.Status.PAID)
        assert sold.count() == 1 and sold.get().options_at_purchase == "Size: 7"
        last.refresh_from_db()
        sibling.refresh_from_db()
        ring.refresh_from_db()
        assert last.quantity == 0
        assert (sibling.quantity, sibling.price) == (5, Decimal("42.50"))
        # The listing's totals moved in the sale's statement: 5 left, all of them the sibling at its price.
        assert (ring.quantity, ring.price) == (5, Decimal("42.50"))
        assert Product.objects.filter(pk=ring.pk, quantity__gte=0).exists()


def test_thirty_buyers_each_buying_one_of_five_units_of_one_size_sell_exactly_five(address):
    ring = ProductFactory(price=Decimal("40.00"))
    sizes = add_variations(ring, {"Size": ["6", "7"]}, quantity=5)
    contested, sibling = sizes[("6",)], sizes[("7",)]
    buyers = [UserFactory() for _ in range(BUYERS)]
    for buyer in buyers:
        CartItemFactory(user=buyer, product=ring, offering=contested, quantity=1)

    def checkout(i):
        return place_order(
            buyer=buyers[i], address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key=f"f{i}"
        ).payment_status

    outcomes = Counter(race(BUYERS, checkout))

    assert outcomes["paid"] == 5, outcomes
    contested.refresh_from_db()
    sibling.refresh_from_db()
    ring.refresh_from_db()
    assert contested.quantity == 0 and sibling.quantity == 5 and ring.quantity == 5
    assert OrderItem.objects.filter(offering=contested, order__status=Order.Status.PAID).count() == 5
