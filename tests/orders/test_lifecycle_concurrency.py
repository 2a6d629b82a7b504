"""Double submits at once (double click, two devices): real concurrent transactions, one effect."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog.models import Product
from etsy.exceptions import DomainError
from etsy.outbox.models import OutboxMessage
from orders.models import CancellationRequest, Order
from orders.services import cancellations, fulfilment
from tests.catalog.factories import set_listing_stock
from tests.orders.conftest import in_thread_db
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROUNDS = 5
THREADS = 4


def _race(fn) -> list:
    barrier = threading.Barrier(THREADS)

    @in_thread_db
    def run(_):
        barrier.wait()
        try:
            fn()
            return "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def _rows(topic: str, order: Order) -> int:
    return OutboxMessage.objects.filter(topic=topic, payload__order_id=order.pk).count()


def test_receipt_confirmed_from_two_devices_at_once_delivers_and_emails_once(buyer):
    for _ in range(ROUNDS):
        order = OrderFactory(buyer=buyer, status=Order.Status.SHIPPED, tracking_number="1Z5")
        outcomes = _race(lambda order=order: fulfilment.confirm_received(buyer=buyer, order_id=order.pk))
        assert outcomes == ["ok"] * THREADS  # idempotent: every click sees a delivered order
        order.refresh_from_db()
        assert order.status == "delivered"
        assert _rows("order.delivered", order) == 1


def test_accepting_a_cancellation_twice_at_once_refunds_and_restocks_once(buyer):
    for _ in range(ROUNDS):
        order = OrderFactory(buyer=buyer, status=Order.Status.PAID)
        item = OrderItemFactory(order=order, quantity=2)
        set_listing_stock(Product.objects.get(pk=item.product_id), quantity=0)
        cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="Wrong colour")
        outcomes = _race(lambda order=order: cancellations.decide_cancellation(order=order, decision="accept"))
        assert outcomes == ["ok"] * THREADS
        order.refresh_from_db()
        assert order.status == "cancelled"
        assert Product.objects.get(pk=item.product_id).quantity == 2  # restocked exactly once
        assert _rows("order.refund", order) == 1 and _rows("order.cancelled", order) == 1


def test_accept_and_decline_at_once_one_wins(buyer):
    for _ in range(ROUNDS):
        order = OrderFactory(buyer=buyer, status=Order.Status.PAID)
        OrderItemFactory(order=order)
        cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="Too slow")
        decisions = iter(["accept", "decline"] * THREADS)
        lock = threading.Lock()

        def decide(order=order):
            with lock:
                decision = next(decisions)
            cancellations.decide_cancellation(order=order, decision=decision)

        outcomes = Counter(_race(decide))
        request = CancellationRequest.objects.get(order=order)
        assert outcomes == {"ok": THREADS // 2, "cancellation_already_decided": THREADS // 2}
        order.refresh_from_db()
        assert (order.status == "cancelled") == (request.status == "accepted")


def test_cancellation_requested_twice_at_once_is_one_request(buyer):
    for _ in range(ROUNDS):
        order = OrderFactory(buyer=buyer, status=Order.Status.PAID)
        outcomes = Counter(
            _race(lambda order=order: cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="x"))
        )
        assert outcomes == {"ok": 1, "cancellation_already_requested": THREADS - 1}
        assert CancellationRequest.objects.filter(order=order).count() == 1
        assert _rows("order.cancellation_requested", order) == 1


def test_a_cancel_racing_the_payment_of_its_checkout_is_refunded_once_and_never_counted_as_a_sale(buyer):
    # mark_checkout_paid locks the orders and pays the pending ones in one statement: an order the seller
    # cancels meanwhile must stay cancelled, be refunded once, and leave its shop's sales count as it was,
    # whichever of the two takes the order's lock first.
    from orders.models import Checkout
    from orders.services.checkout import mark_checkout_paid
    from shops.models import Shop
    from tests.orders.conftest import race
    from tests.orders.factories import CheckoutFactory

    for _ in range(ROUNDS * 2):
        checkout = CheckoutFactory(buyer=buyer, payment_status=Checkout.PaymentStatus.UNKNOWN)
        target, other = (
            OrderFactory(checkout=checkout, buyer=buyer, status=Order.Status.PENDING_PAYMENT) for _ in range(2)
        )
        for order in (target, other):
            OrderItemFactory(order=order, quantity=2)
        sales_before = dict(Shop.objects.values_list("pk", "sales_count"))

        race(
            2,
            lambda i: (
                fulfilment.cancel_order(order=target)
                if i == 0
                else mark_checkout_paid(checkout_id=checkout.pk, charge_id="ch_race")
            ),
        )

        target.refresh_from_db()
        other.refresh_from_db()
        assert (target.status, other.status) == (Order.Status.CANCELLED, Order.Status.PAID)
        assert _rows("order.refund", target) == 1 and _rows("order.refund", other) == 0
        sales = dict(Shop.objects.values_list("pk", "sales_count"))
        assert sales[target.shop_id] == sales_before[target.shop_id]
        assert sales[other.shop_id] == sales_before[other.shop_id] + 2
