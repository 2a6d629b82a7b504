"""Case fixtures: orders paid through the real checkout and ledger, shipped, and a clock past their estimate."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from cart import services as cart_services
from etsy.breakers import reset_all
from orders import payments
from orders.models import Order
from orders.services.checkout import ShippingAddress, place_order
from orders.services.fulfilment import mark_shipped
from payments.services.payouts import pay_sellers_for_checkout
from tests.api.conftest import api_client, buyer_client, client_for, other_buyer_client, seller_client  # noqa: F401
from tests.catalog.factories import ProductFactory

ADDRESS = ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534")


def buy(buyer, shop, *, price: str = "36.89") -> Order:
    """Place and pay an order of one listing of ``shop`` (the sale and fees booked in the shop's ledger)."""
    reset_all()
    product = ProductFactory(shop=shop, price=Decimal(price), quantity=1)
    cart_services.add_item(user=buyer, product_id=product.pk)
    result = place_order(
        buyer=buyer, address=ADDRESS, payment_method=payments.PM_SUCCEEDS, idempotency_key=uuid.uuid4().hex
    )
    pay_sellers_for_checkout(checkout_id=result.checkout.pk)
    return Order.objects.get(checkout=result.checkout)


def ship(order: Order) -> Order:
    return mark_shipped(order=order, tracking_number="1Z999AA10123456784")


def day_after_estimate(order: Order, *, hour: int = 12) -> datetime.datetime:
    """A moment on the day after the order's estimated delivery date (the first day a case may be opened)."""
    order.refresh_from_db()
    day = order.estimated_delivery + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def past_estimate(shipped_order):
    """The shipped order's estimate moved to yesterday (for code that reads the real clock: pages, API)."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Order.objects.filter(pk=shipped_order.pk).update(estimated_delivery=yesterday)
    return shipped_order


@pytest.fixture
def paid_order(buyer, shop):
    return buy(buyer, shop)


@pytest.fixture
def shipped_order(paid_order):
    return ship(paid_order)


@pytest.fixture
def late(shipped_order):
    """The first day after the shipped order's estimated delivery."""
    return day_after_estimate(shipped_order)


def run_outbox(topic: str | None = None) -> int:
    from tests.payments.conftest import run_outbox as run

    return run(topic)
