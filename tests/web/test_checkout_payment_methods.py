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


def test_3d_secure_has_a_complete_authentication_step_that_works_without_javascript(client, buyer, ready):
    response = client.post(
        "/orders/checkout/", {**ADDRESS, "payment_method": "pm_card_authenticationRequired", "token": ready}
    )
    checkout = Checkout.objects.get()
    assert response.status_code == 303 and response["Location"] == f"/orders/checkout/{checkout.pk}/authenticate/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Complete authentication" in page.content.decode()
    assert Checkout.objects.get().payment_status == "requires_action"
    done = client.post(response["Location"])
    assert done.status_code == 302 and done["Location"] == f"/orders/checkout/{checkout.pk}/"
    assert Checkout.objects.get().payment_status == "paid"
    assert Order.objects.get(buyer=buyer).status == "paid"


def test_authentication_step_of_another_buyers_checkout_is_404(client, buyer, other_buyer, ready):
    client.post("/orders/checkout/", {**ADDRESS, "payment_method": "pm_card_authenticationRequired", "token": ready})
    checkout = Checkout.objects.get()
    client.force_login(other_buyer)
    assert client.post(f"/orders/checkout/{checkout.pk}/authenticate/").status_code == 404
    assert Checkout.objects.get().payment_status == "requires_action"
