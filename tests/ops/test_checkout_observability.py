"""Checkout: orders, order value and duration reach /metrics; card numbers never reach the logs."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from cart import services as cart_services
from etsy.breakers import reset_all
from orders import payments
from orders.exceptions import PaymentDeclined
from orders.models import Order
from orders.services.checkout import ShippingAddress, place_order
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

from .metrics_reading import moved, scrape

pytestmark = pytest.mark.django_db

ANY_CARD_DIGITS = re.compile(r"\d(?:[ -]?\d){11,18}")
ADDRESS = ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534", country="US")


@pytest.fixture(autouse=True)
def _closed_breakers(settings):
    settings.PAYMENT_TIMEOUT_SECONDS = 0.2
    settings.TEST_PAYMENT_SLOW_SECONDS = 0.5
    reset_all()
    yield
    reset_all()


def fill_cart(buyer) -> list:
    shops = [ShopFactory(shipping_base=Decimal("4.00")), ShopFactory(shipping_base=Decimal("3.50"))]
    products = [
        ProductFactory(shop=shops[0], price=Decimal("19.99"), quantity=1),
        ProductFactory(shop=shops[1], price=Decimal("140.00"), quantity=3),
    ]
    for product in products:
        cart_services.add_item(user=buyer, product_id=product.pk)
    return shops


def test_a_paid_checkout_moves_order_metrics_by_its_orders(client, buyer):
    shops = fill_cart(buyer)
    before = scrape(client)
    result = place_order(buyer=buyer, address=ADDRESS, payment_method=payments.PM_SUCCEEDS, idempotency_key="ops-1")
    after = scrape(client)

    totals = sorted(float(order.total) for order in result.orders)
    assert totals == [23.99, 143.50]
    assert moved(before, after, "etsy_orders_created_total", status="paid") == 2
    for shop in shops:
        assert moved(before, after, "etsy_orders_by_shop_total", shop_id=str(shop.pk)) == 1
    assert moved(before, after, "etsy_order_value_dollars_count") == 2
    assert moved(before, after, "etsy_order_value_dollars_sum") == pytest.approx(sum(totals))
    assert moved(before, after, "etsy_order_value_dollars_bucket", le="25.0") == 1
    assert moved(before, after, "etsy_order_value_dollars_bucket", le="100.0") == 1
    assert moved(before, after, "etsy_order_value_dollars_bucket", le="250.0") == 2
    assert moved(before, after, "etsy_checkout_duration_seconds_count") == 1
    assert moved(before, after, "etsy_checkout_duration_seconds_bucket", le="+Inf") == 1


def test_a_declined_checkout_counts_its_orders_by_final_status(client, buyer):
    fill_cart(buyer)
    before = scrape(client)
    with pytest.raises(PaymentDeclined):
        place_order(buyer=buyer, address=ADDRESS, payment_method=payments.PM_DECLINED, idempotency_key="ops-2")
    after = scrape(client)
    statuses = list(Order.objects.filter(buyer=buyer).values_list("status", flat=True))
    assert len(statuses) == 2 and "paid" not in statuses
    for status in set(statuses):
        assert moved(before, after, "etsy_orders_created_total", status=status) == statuses.count(status)
    assert moved(before, after, "etsy_orders_created_total", status="paid") == 0
    assert moved(before, after, "etsy_checkout_duration_seconds_count") == 1


def _form_token(html: str) -> str:
    match = re.search(r'name="token"[^>]*value="([^"]+)"', html) or re.search(r'value="([^"]+)"[^>]*name="token"', html)
    assert match, "checkout form without its one-time token"
    return match.group(1)


def test_checkouts_with_card_numbers_leave_no_card_digits_in_any_log_line(client, buyer, log_lines):
    client.force_login(buyer)
    fill_cart(buyer)
    page = client.get("/orders/checkout/")
    assert page.status_code == 200
    response = client.post(
        "/orders/checkout/",
        {
            "ship_name": "Bea Buyer",
            "ship_line1": "1 Market Street",
            "ship_city": "Hudson",
            "ship_postcode": "12534",
            "ship_country": "US",
            "payment_method": "pm_card_visa",
            "token": _form_token(page.content.decode()),
        },
        HTTP_X_REQUEST_ID="checkout-html-1",
    )
    assert response.status_code in (302, 303), response.content[:2000]  # to the confirmation page
    paid = sorted(Order.objects.filter(buyer=buyer, status="paid").values_list("pk", flat=True))
    assert len(paid) == 2
    [completed] = [r for r in log_lines.records if r.get("event_type") == "checkout_completed"]
    assert completed["event"] == "checkout completed" and sorted(completed["order_ids"]) == paid
    assert completed["request_id"] == "checkout-html-1" and completed["user_id"] == buyer.pk
    assert completed["payment_status"] == "paid"

    # the other provider answers: a decline, and a timeout (logged with its traceback)
    fill_cart(buyer)
    with pytest.raises(PaymentDeclined):
        place_order(buyer=buyer, address=ADDRESS, payment_method=payments.PM_DECLINED, idempotency_key="ops-3")
    fill_cart(buyer)
    result = place_order(buyer=buyer, address=ADDRESS, payment_method=payments.PM_TIMEOUT, idempotency_key="ops-4")
    assert result.payment_status == "unknown"

    text = log_lines.text
    assert any(
        r.get("request_id") == "checkout-html-1" and r.get("path") == "/orders/checkout/" for r in log_lines.records
    )
    assert "payment outcome unknown" in text
    for card in (payments.PM_SUCCEEDS, payments.PM_DECLINED, payments.PM_TIMEOUT, "pm_card_visa"):
        assert card not in text
    assert not ANY_CARD_DIGITS.search(text), ANY_CARD_DIGITS.search(text)
