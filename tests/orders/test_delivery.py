"""Estimated delivery: placed + processing + carrier business days, recomputed from the day it ships."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from cart import services as cart_services
from orders import delivery
from orders.models import Order
from orders.payments import PM_SUCCEEDS
from orders.services import fulfilment
from orders.services.checkout import ShippingAddress, place_order
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

FRIDAY = datetime.date(2026, 12, 4)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (FRIDAY, 0, FRIDAY),
        (FRIDAY, 1, datetime.date(2026, 12, 7)),  # Monday: the weekend does not count
        (FRIDAY, 5, datetime.date(2026, 12, 11)),
        (datetime.date(2026, 12, 5), 1, datetime.date(2026, 12, 7)),  # from a Saturday
        (datetime.date(2026, 12, 7), 4, datetime.date(2026, 12, 11)),
        (datetime.date(2026, 12, 7), 10, datetime.date(2026, 12, 21)),
    ],
)
def test_add_business_days_skips_weekends(start, days, expected):
    assert delivery.add_business_days(start, days) == expected


def test_estimate_uses_domestic_and_international_carrier_days(settings):
    settings.SHIPPING_DAYS_DOMESTIC, settings.SHIPPING_DAYS_INTERNATIONAL = 4, 10
    monday = datetime.date(2026, 12, 7)
    assert delivery.estimate_when_placed(placed_on=monday, processing_days=3, international=False) == datetime.date(
        2026, 12, 16
    )
    assert delivery.estimate_when_placed(placed_on=monday, processing_days=3, international=True) == datetime.date(
        2026, 12, 24
    )
    assert delivery.is_international(shop_country="us", ship_country="US") is False
    assert delivery.is_international(shop_country="GB", ship_country="US") is True


def test_place_order_gives_each_shop_order_its_own_estimate(buyer, settings):
    settings.SHIPPING_DAYS_DOMESTIC, settings.SHIPPING_DAYS_INTERNATIONAL = 4, 10
    quick = ShopFactory(processing_days=1, country="US")
    abroad = ShopFactory(processing_days=2, country="GB", shipping_base=Decimal("9.00"))
    cart_services.add_item(user=buyer, product_id=ProductFactory(shop=quick, quantity=3).pk)
    cart_services.add_item(user=buyer, product_id=ProductFactory(shop=abroad, quantity=3).pk)
    address = ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534", country="US")

    result = place_order(buyer=buyer, address=address, payment_method=PM_SUCCEEDS, idempotency_key="est-1")

    today = timezone.localdate()
    by_shop = {order.shop_id: order for order in Order.objects.filter(checkout=result.checkout)}
    assert by_shop[quick.pk].estimated_delivery == delivery.add_business_days(today, 1 + 4)
    assert by_shop[abroad.pk].estimated_delivery == delivery.add_business_days(today, 2 + 10)


def test_mark_shipped_recomputes_the_estimate_from_the_shipping_day(settings):
    settings.SHIPPING_DAYS_DOMESTIC = 4
    far_away = timezone.localdate() + datetime.timedelta(days=30)
    order = OrderFactory(status=Order.Status.PAID, estimated_delivery=far_away)

    shipped = fulfilment.mark_shipped(order=order, tracking_number="1Z1")

    assert shipped.estimated_delivery == delivery.add_business_days(timezone.localdate(), 4)
    order.refresh_from_db()
    assert order.estimated_delivery == shipped.estimated_delivery
