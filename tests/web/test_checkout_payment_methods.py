"""The HTML checkout: no card field anywhere; the test provider's payment methods are a plain choice."""

from decimal import Decimal

import pytest

from cart import services as cart_services
from etsy.breakers import reset_all
from orders.models import Checkout, Order
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db

ADDRESS = {
    "ship_name": "Bea Buyer",
    "ship_line1": "1 Market Street",
    "ship_city": "Hudson",
    "ship_postcode": "12534",
    "ship_country": "US",
}


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()
    yield
    reset_all()


@pytest.fixture
def ready(client, buyer, shop, category):
    product = ProductFactory(shop=shop, category=category, price=Decimal("12.00"), quantity=3)
    cart_services.add_item(user=buyer, product_id=product.pk)
    client.force_login(buyer)
    page = client.get("/orders/checkout/")
    assert page.status_code == 200
    return page.context["form"]["token"].value()


def test_checkout_page_offers_test_payment_methods_and_no_card_input(client, ready):
    html = client.get("/orders/checkout/").content.decode()
    for pm in ("pm_card_visa", "pm_card_chargeDeclined", "pm_card_authenticationRequired", "pm_card_timeout"):
        assert f'value="{pm}"' in html
    assert 'type="radio"' in html and "cc-number" not in html and "Card number" not in html
    assert "js.stripe.com" not in html  # the test provider needs no script


def test_no_javascript_checkout_places_an_order_with_the_test_visa(client, buyer, ready):
    response = client.post("/orders/checkout/", {**ADDRESS, "payment_method": "pm_card_visa", "token": ready})
    assert response.status_code == 303
    assert Order.objects.get(buyer=buyer).status == "paid"


def test_html_checkout_refuses_a_posted_card_number(client, buyer, ready):
    response = client.post(
        "/orders/checkout/",
        {**ADDRESS, "payment_method": "pm_card_visa", "card_number": "4242424242424242", "token": ready},
    )
    assert response.status_code == 400
    assert "never sent to us" in response.content.decode()
    assert "4242424242424242" not in response.content.decode()
    assert not Checkout.objects.exists()
