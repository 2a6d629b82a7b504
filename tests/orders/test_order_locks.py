"""Every service that locks an order takes FOR NO KEY UPDATE, never FOR UPDATE.

No writer changes an order's key, and FOR UPDATE blocks the foreign-key checks (FOR KEY SHARE, deferred to
COMMIT) of other transactions' rows that reference the order: the payment's payout handler waited there while
holding the shop's row that a cancel of the order waited for, a deadlock
(test_lifecycle_concurrency.test_a_paid_orders_cancel_waits_for_its_sellers_payout_instead_of_deadlocking).
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Checkout, Order
from orders.services import cancellations, fulfilment, reviews
from orders.services.checkout import cancel_checkout, mark_checkout_paid
from payments.services import ledger, refunds
from tests.orders.factories import CheckoutFactory, OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

_FROM_ORDERS = re.compile(r'\bFROM\s+"?orders_order"?(\s|$)')
_ROW_LOCK = re.compile(r"\bFOR (NO KEY )?UPDATE\b")


def order_row_locks(captured_queries: list[dict]) -> list[str]:
    """The captured statements that lock rows of the orders table."""
    return [q["sql"] for q in captured_queries if _FROM_ORDERS.search(q["sql"]) and _ROW_LOCK.search(q["sql"])]


def _order(buyer, **fields) -> Order:
    order = OrderFactory(buyer=buyer, **fields)
    OrderItemFactory(order=order, quantity=2)
    return order


def _cancel_pending(buyer):
    order = _order(buyer, status=Order.Status.PENDING_PAYMENT)
    return lambda: fulfilment.cancel_order(order=order)


def _cancel_paid(buyer):
    order = _order(buyer)
    return lambda: fulfilment.cancel_order(order=order)


def _request_cancellation(buyer):
    order = _order(buyer)
    return lambda: cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="Ordered twice")


def _decide(decision):
    def setup(buyer):
        order = _order(buyer)
        cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="Ordered twice")
        return lambda: cancellations.decide_cancellation(order=order, decision=decision)

    setup.__name__ = f"{decision}_cancellation"
    return setup


def _accept_overdue_cancellation(buyer):
    order = _order(buyer)
    cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="Ordered twice")
    later = timezone.now() + timedelta(hours=settings.CANCELLATION_RESPONSE_HOURS + 1)
    return lambda: cancellations.accept_overdue_cancellation(order_id=order.pk, now=later)


def _pay_checkout(buyer):
    checkout = CheckoutFactory(buyer=buyer, payment_status=Checkout.PaymentStatus.UNKNOWN)
    for _ in range(2):
        _order(buyer, checkout=checkout, status=Order.Status.PENDING_PAYMENT)
    return lambda: mark_checkout_paid(checkout_id=checkout.pk, charge_id="ch_locks")


def _cancel_checkout(buyer):
    checkout = CheckoutFactory(buyer=buyer, payment_status=Checkout.PaymentStatus.UNKNOWN)
    _order(buyer, checkout=checkout, status=Order.Status.PENDING_PAYMENT)
    return lambda: cancel_checkout(checkout_id=checkout.pk, status=Checkout.PaymentStatus.DECLINED)


def _ship(buyer):
    order = _order(buyer)
    return lambda: fulfilment.mark_shipped(order=order, tracking_number="1Z999")


def _deliver(buyer):
    order = _order(buyer, status=Order.Status.SHIPPED, tracking_number="1Z999")
    return lambda: fulfilment.mark_delivered(order=order, via=Order.DeliveredVia.BUYER)


def _refund(buyer):
    order = _order(buyer)
    ledger.record_sale(order=order)
    return lambda: refunds.refund_order(order=order)


def _review(buyer):
    order = _order(buyer, status=Order.Status.DELIVERED)
    return lambda: reviews.leave_review(buyer=buyer, order_id=order.pk, rating=5)


@pytest.mark.parametrize(
    "setup",
    [
        _cancel_pending,
        _cancel_paid,
        _request_cancellation,
        _decide(cancellations.ACCEPT),
        _decide(cancellations.DECLINE),
        _accept_overdue_cancellation,
        _pay_checkout,
        _cancel_checkout,
        _ship,
        _deliver,
        _refund,
        _review,
    ],
    ids=lambda setup: setup.__name__.strip("_"),
)
def test_services_lock_orders_for_no_key_update(buyer, setup):
    run = setup(buyer)
    with CaptureQueriesContext(connection) as queries:
        run()
    locks = order_row_locks(queries.captured_queries)
    assert locks, "the service locked no order"
    assert all("FOR NO KEY UPDATE" in sql for sql in locks), locks


def test_application_code_locks_orders_only_through_their_locked_queryset():
    """``Order.objects.locked()`` is the one home of the rule: a new service that called ``select_for_update`` on
    orders itself would take FOR UPDATE by default."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True, check=True)
    direct = re.compile(r"\bOrder\.objects\.(?:[a-z_]+\([^()]*\)\.)*select_for_update\(")
    offenders = [
        path
        for path in tracked.stdout.split()
        if not path.startswith("tests/") and direct.search((root / path).read_text())
    ]
    assert len(tracked.stdout.split()) > 100  # the listing found the code
    assert offenders == []
