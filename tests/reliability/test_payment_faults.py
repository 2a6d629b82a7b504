"""Payment provider hanging or failing, through the API: checkout ends within the timeout, stock is
taken once and given back once, and the retry task settles what was left pending."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cart import services as cart_services
from catalog.models import Product
from orders import payments
from orders.models import Checkout, Order
from orders.tasks import resolve_pending_payments
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Market Street",
    "line2": "",
    "city": "Hudson",
    "postcode": "12534",
    "country": "US",
}
RELEASE = threading.Event()


class HangingProvider(payments.TestPaymentProvider):
    """Accepts the charge, then never answers (until the test releases it)."""

    def confirm_payment(self, **kwargs):
        RELEASE.wait(30)
        raise ConnectionError("hung up")

    def retrieve(self, *, payment_id, idempotency_key):
        return None  # the provider never recorded it


class BrokenProvider(payments.TestPaymentProvider):
    def confirm_payment(self, **kwargs):
        raise ConnectionError("provider 502")

    def retrieve(self, *, payment_id, idempotency_key):
        raise ConnectionError("provider 502")


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def checkout(user, card, key):
    return api_for(user).post(
        "/api/v1/checkout", {"address": ADDRESS, "payment_method": card}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def age_checkouts(seconds: int = 3600) -> None:
    Checkout.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.fixture
def fast_payments(settings):
    settings.PAYMENT_TIMEOUT_SECONDS = 1.0
    settings.TEST_PAYMENT_SLOW_SECONDS = 1.5
    settings.PAYMENT_ABANDON_AFTER_SECONDS = 60


def test_slow_provider_answer_ends_checkout_at_the_timeout_and_the_resolver_marks_it_paid(
    fast_payments, buyer, shop, category
):
    product = ProductFactory(shop=shop, category=category, price=Decimal("10.00"), quantity=5)
    cart_services.add_item(user=buyer, product_id=product.pk, quantity=2)
    started = time.monotonic()
    response = checkout(buyer, payments.PM_TIMEOUT, "slow-1")
    assert time.monotonic() - started < 1.0 + 1.0  # the timeout plus our own work, not the provider's 1.5 s
    assert response.status_code == 202 and response.json()["payment_status"] == "unknown"
    assert Product.objects.get(pk=product.pk).quantity == 3  # taken once, held while unknown
    time.sleep(0.6)  # the provider finishes processing
    age_checkouts()
    resolve_pending_payments.delay()
    resolve_pending_payments.delay()  # running twice changes nothing
    order = Order.objects.get(buyer=buyer)
    assert order.status == Order.Status.PAID
    assert Product.objects.get(pk=product.pk).quantity == 3


def test_slow_then_declined_is_cancelled_and_restocked_exactly_once(fast_payments, buyer, shop, category):
    product = ProductFactory(shop=shop, category=category, quantity=1)
    cart_services.add_item(user=buyer, product_id=product.pk)
    assert checkout(buyer, payments.PM_TIMEOUT_THEN_DECLINED, "slow-2").status_code == 202
    assert Product.objects.get(pk=product.pk).quantity == 0
    time.sleep(0.6)
    age_checkouts()
    for _ in range(3):
        resolve_pending_payments.delay()
    assert Order.objects.get(buyer=buyer).status == Order.Status.CANCELLED
    assert Product.objects.get(pk=product.pk).quantity == 1  # given back once, never twice


def test_hanging_provider_is_cut_at_the_timeout_and_abandoned_charges_are_cancelled(
    fast_payments, settings, buyer, shop, category
):
    settings.PAYMENT_PROVIDER = f"{__name__}.HangingProvider"
    product = ProductFactory(shop=shop, category=category, quantity=1)
    cart_services.add_item(user=buyer, product_id=product.pk)
    RELEASE.clear()
    try:
        started = time.monotonic()
        response = checkout(buyer, "pm_card_visa", "hang-1")
        assert time.monotonic() - started < 2.0
        assert response.status_code == 202
    finally:
        RELEASE.set()
    age_checkouts()
    resolve_pending_payments.delay()
    assert Checkout.objects.get(buyer=buyer).payment_status == Checkout.PaymentStatus.CANCELLED
    assert Product.objects.get(pk=product.pk).quantity == 1


def test_failing_provider_opens_the_breaker_then_checkout_refuses_before_taking_stock(
    fast_payments, settings, shop, category
):
    settings.PAYMENT_PROVIDER = f"{__name__}.BrokenProvider"
    product = ProductFactory(shop=shop, category=category, quantity=100)
    buyers = [UserFactory() for _ in range(6)]
    statuses = []
    for index, user in enumerate(buyers):
        cart_services.add_item(user=user, product_id=product.pk)
        statuses.append(checkout(user, "pm_card_visa", f"broken-{index}").status_code)
    assert statuses[:5] == [202] * 5  # outcome unknown: the orders wait for the resolver
    assert statuses[5] == 503  # the breaker is open: refused before anything is created
    assert Checkout.objects.count() == 5
    assert Product.objects.get(pk=product.pk).quantity == 95
    assert payments.is_circuit_open()
