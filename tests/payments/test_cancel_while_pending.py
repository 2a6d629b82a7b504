"""The cancel-while-pending money case: a seller cancels an order whose checkout's charge is still unknown;
the charge then succeeds for the whole checkout. The cancelled order's share must go back to the buyer at
once, and every charged cent must be in the ledger (sales less refunds equal what the buyer kept paying).

Before the fix the cancelled order was neither booked nor refunded (only paid orders were), so the buyer
paid for it and nobody owed it back; with every order of the checkout cancelled, the checkout itself was
marked cancelled and a charge succeeding later was never even looked at.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db.models import Sum
from django.utils import timezone

from etsy.breakers import reset_all
from orders import payments
from orders.models import Checkout, Order
from orders.services import fulfilment
from orders.services.checkout import place_order
from orders.tasks import resolve_pending_payments
from payments.models import LedgerEntry, Transfer
from tests.orders.conftest import address, three_shop_cart  # noqa: F401  (fixtures)
from tests.payments.conftest import run_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()  # the timeouts below count as provider failures: each test starts with a closed breaker
    yield
    reset_all()


def _sum(**filters) -> Decimal:
    return LedgerEntry.objects.filter(**filters).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")


def _refunded_at_provider(checkout: Checkout) -> Decimal:
    provider = payments.get_provider()
    key = provider.cache.make_key(f"payments:test-provider:refunded:{checkout.provider_idempotency_key}")
    cents = provider.cache.client.get_client(write=False).get(key)
    return Decimal(int(cents or 0)) / 100


def _place_unknown(buyer, address, settings):  # noqa: F811
    settings.PAYMENT_TIMEOUT_SECONDS = 0.1
    settings.TEST_PAYMENT_SLOW_SECONDS = 0.3
    result = place_order(buyer=buyer, address=address, payment_method=payments.PM_TIMEOUT, idempotency_key="cwp")
    assert result.payment_status == "unknown"
    return result


def _resolve_once_answered(expected: dict) -> None:
    """Run the resolution task (as beat does every minute) until the provider's slow answer is in: a loaded
    machine can start the provider's answer late, and an unknown charge is left for the next run."""
    deadline = time.monotonic() + 10
    while (outcome := resolve_pending_payments.apply_async().get()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outcome == expected


def _settle_later(django_capture_on_commit_callbacks):
    Checkout.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    time.sleep(0.35)  # the provider finishes processing: the charge succeeded for the whole checkout
    with django_capture_on_commit_callbacks(execute=True):
        _resolve_once_answered({"paid": 1})
    for _ in range(3):  # refunds booked, then carried out at the provider (each an outbox row)
        run_outbox()


def test_an_order_cancelled_while_the_charge_is_unknown_is_refunded_when_the_charge_succeeds(
    buyer,
    address,  # noqa: F811
    three_shop_cart,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    result = _place_unknown(buyer, address, settings)
    cancelled = result.orders[0]
    fulfilment.cancel_order(order=cancelled)  # the seller, while the charge is still unknown
    _settle_later(django_capture_on_commit_callbacks)

    checkout = Checkout.objects.get()
    cancelled.refresh_from_db()
    others = Order.objects.exclude(pk=cancelled.pk)
    assert checkout.payment_status == "paid" and cancelled.status == "cancelled"
    assert set(others.values_list("status", flat=True)) == {"paid"}
    # Its share was refunded in full, once, at the provider and in the ledger.
    assert _refunded_at_provider(checkout) == cancelled.total
    assert _sum(order=cancelled, kind="refund") == -cancelled.total
    assert _sum(order=cancelled) == 0  # sale, fee, refund, fee refund: nothing owed to or by the shop
    assert not Transfer.objects.filter(order=cancelled).exists()  # never paid out to the shop
    # Every charged cent is booked: sales = the checkout's total; sales + refunds = what the buyer keeps paying.
    assert _sum(kind="sale") == checkout.total
    assert _sum(kind="sale") + _sum(kind="refund") == checkout.total - cancelled.total
    refund_mail = [m for m in mail.outbox if m.to == [buyer.email] and "refunded" in m.subject]
    assert len(refund_mail) == 1 and str(cancelled.total) in refund_mail[0].subject


def test_every_order_cancelled_while_pending_then_charged_is_all_refunded(
    buyer,
    address,  # noqa: F811
    three_shop_cart,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    result = _place_unknown(buyer, address, settings)
    for order in result.orders:
        fulfilment.cancel_order(order=order)
    assert Checkout.objects.get().payment_status == "unknown"  # still asked about: its charge may succeed
    _settle_later(django_capture_on_commit_callbacks)

    checkout = Checkout.objects.get()
    assert checkout.payment_status == "paid"
    assert _refunded_at_provider(checkout) == checkout.total
    assert _sum(kind="sale") == checkout.total and _sum() == 0


def test_a_declined_charge_after_the_cancel_refunds_nothing(
    buyer,
    address,  # noqa: F811
    three_shop_cart,  # noqa: F811
    settings,
):
    settings.PAYMENT_TIMEOUT_SECONDS = 0.1
    settings.TEST_PAYMENT_SLOW_SECONDS = 0.2
    result = place_order(
        buyer=buyer, address=address, payment_method=payments.PM_TIMEOUT_THEN_DECLINED, idempotency_key="d"
    )
    fulfilment.cancel_order(order=result.orders[0])
    Checkout.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    time.sleep(0.25)
    _resolve_once_answered({"declined": 1})
    run_outbox()
    assert not LedgerEntry.objects.exists()
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
