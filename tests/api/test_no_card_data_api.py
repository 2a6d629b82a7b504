"""Card data never reaches us: the API takes the provider's payment-method id and refuses card fields."""

import json
from decimal import Decimal

import pytest

from cart import services as cart_services
from cart.models import CartItem
from etsy.breakers import reset_all
from orders.models import Checkout, Order
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Bea Buyer", "line1": "1 Market Street", "city": "Hudson", "postcode": "12534", "country": "US"}
CARD_FIELDS = [
    {"card_number": "4242424242424242"},
    {"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}},
    {"number": "4242424242424242"},
    {"cvc": "123"},
    {"exp_month": 12},
    {"exp_year": 2030},
]


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()
    yield
    reset_all()


@pytest.fixture
def cart_line(buyer, shop, category):
    product = ProductFactory(shop=shop, category=category, price=Decimal("12.00"), quantity=3)
    cart_services.add_item(user=buyer, product_id=product.pk)
    return product


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_has_no_card_fields_and_takes_a_payment_method(schema):
    checkout = schema["components"]["schemas"]["CheckoutRequestRequest"]
    assert set(checkout["properties"]) == {"address", "address_id", "save_address", "payment_method", "expected_total"}
    assert "payment_method" in checkout["required"]
    text = json.dumps(schema).lower()
    for word in ("card_number", '"cvc"', "exp_month", "4242424242424242"):
        assert word not in text, word


@pytest.mark.parametrize("card_fields", CARD_FIELDS)
def test_checkout_refuses_any_card_field_with_400_and_creates_nothing(buyer_client, buyer, cart_line, card_fields):
    response = buyer_client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": "pm_card_visa", **card_fields},
        format="json",
        HTTP_IDEMPOTENCY_KEY="card-1",
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "card_data_not_accepted"
    assert not Checkout.objects.exists() and not Order.objects.exists()
    assert CartItem.objects.filter(user=buyer).count() == 1


def test_card_inside_the_address_is_refused_too(buyer_client, cart_line):
    response = buyer_client.post(
        "/api/v1/checkout",
        {"address": {**ADDRESS, "card_number": "4242424242424242"}, "payment_method": "pm_card_visa"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="card-2",
    )
    assert response.status_code == 400 and error_of(response)["code"] == "card_data_not_accepted"


@pytest.mark.parametrize("payment_method", ["pm_card_doesNotExist", "pm_1Foreign0000000000000000", "tok_visa", "42"])
def test_unknown_payment_method_is_402_with_the_provider_code_and_nothing_created(
    buyer_client, buyer, cart_line, payment_method
):
    response = buyer_client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": payment_method},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"pm-{payment_method}",
    )
    assert response.status_code == 402
    error = error_of(response)
    assert error["code"] == "payment_method_refused"
    assert error["extra"]["decline_code"] in ("resource_missing", "invalid_payment_method")
    assert not Checkout.objects.exists() and not Order.objects.exists()
    assert CartItem.objects.filter(user=buyer).count() == 1


def test_test_payment_method_needing_authentication_answers_202_with_a_client_secret(buyer_client, buyer, cart_line):
    response = buyer_client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": "pm_card_authenticationRequired"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="3ds-1",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["payment_status"] == "requires_action" and body["client_secret"]
    assert Checkout.objects.get().payment_status == "requires_action"
    assert {o.status for o in Order.objects.all()} == {"pending_payment"}
