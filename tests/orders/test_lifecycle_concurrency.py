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
from tests.locks import wait_until_another_backend_waits_for_mine
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


@pytest.mark.parametrize("how", ["seller_cancels", "seller_accepts_the_buyers_request"])
def test_a_paid_orders_cancel_waits_for_its_sellers_payout_instead_of_deadlocking(buyer, monkeypatch, how):
    # The cycle the race above hit now and then: the payment's payout handler (its own transaction, after the
    # payment's commit) books the sale and the transfer (rows referencing the order: their foreign-key checks
    # are deferred to its COMMIT) and writes the shop's payout account. The cancel locks the order, then waits
    # for the shop's row (sales count). The handler's COMMIT then checks the order FOR KEY SHARE: a cancel
    # holding the order FOR UPDATE blocked it, a deadlock; FOR NO KEY UPDATE lets it through.
    from etsy.outbox import services as outbox_services
    from orders import events
    from orders.models import Checkout
    from payments.models import Transfer
    from payments.services import payouts
    from tests.orders.factories import CheckoutFactory

    checkout = CheckoutFactory(buyer=buyer, payment_status=Checkout.PaymentStatus.PAID, provider_charge_id="ch_paid")
    order = OrderFactory(checkout=checkout, buyer=buyer, status=Order.Status.PAID)
    OrderItemFactory(order=order, quantity=2)
    assert order.shop.payout_account_id == ""  # the handler writes the shop's row
    if how == "seller_accepts_the_buyers_request":
        cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="Ordered twice")
    message = outbox_services.publish(
        topic=events.TOPIC_CHECKOUT_PAID, payload={"checkout_id": str(checkout.pk)}, relay=False
    )
    record_transfers, shop_written, errors, outcome = payouts._record_transfers, threading.Event(), [], []

    def record_transfers_then_wait_for_the_cancel(made):
        record_transfers(made)
        shop_written.set()
        # The cancel holds the order and waits for the shop.
        wait_until_another_backend_waits_for_mine(who="the cancel")

    monkeypatch.setattr(payouts, "_record_transfers", record_transfers_then_wait_for_the_cancel)

    @in_thread_db
    def pay_the_seller():
        try:
            outcome.append(outbox_services.process(message_id=message.pk))
        except Exception as exc:
            errors.append(exc)

    @in_thread_db
    def cancel():
        try:
            assert shop_written.wait(10), "the payout never wrote the shop"
            if how == "seller_cancels":
                fulfilment.cancel_order(order=order)
            else:
                cancellations.decide_cancellation(order=order, decision="accept")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pay_the_seller), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == [] and outcome == ["done"]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert Transfer.objects.filter(order=order).count() == 1
    assert _rows("order.refund", order) == 1
