"""Parallel refunds of one order never add up to more than was paid (the order row is the lock)."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from cart import services as cart_services
from etsy.breakers import reset_all
from etsy.exceptions import DomainError
from orders import payments
from orders.models import Order
from orders.services.checkout import ShippingAddress, place_order
from payments.models import LedgerEntry
from payments.services.payouts import pay_sellers_for_checkout
from payments.services.refunds import refund_order
from tests.catalog.factories import ProductFactory
from tests.orders.conftest import in_thread_db

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ADDRESS = ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534")


def test_eight_parallel_refunds_of_one_order_never_exceed_what_was_paid(buyer, shop):
    reset_all()
    for round_no in range(3):
        product = ProductFactory(shop=shop, price=Decimal("20.00"), quantity=1)  # total 24.00 with shipping
        cart_services.add_item(user=buyer, product_id=product.pk)
        result = place_order(
            buyer=buyer, address=ADDRESS, payment_method=payments.PM_SUCCEEDS, idempotency_key=f"race-{round_no}"
        )
        pay_sellers_for_checkout(checkout_id=result.checkout.pk)
        order = Order.objects.get(checkout=result.checkout)
        barrier = threading.Barrier(8)

        @in_thread_db
        def refund(_):
            barrier.wait()
            try:
                refund_order(order=order, amount=Decimal("5.00"))
                return "refunded"
            except DomainError as exc:
                return exc.code

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = Counter(pool.map(refund, range(8)))
        assert outcomes == {"refunded": 4, "refund_too_large": 4}, outcomes  # 4 x 5.00 <= 24.00 < 5 x 5.00
        refunded = -sum(e.amount for e in LedgerEntry.objects.filter(order=order, kind="refund"))
        assert refunded == Decimal("20.00") <= order.total
