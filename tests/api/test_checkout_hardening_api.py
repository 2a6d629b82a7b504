"""Issue 19, items 2 and 3 through POST /api/v1/checkout (and issue 15: sold lines handled by the service).

Item 3 runs against real PostgreSQL: the app's own connection is terminated with
``pg_terminate_backend`` at the payment edge, i.e. after the orders were committed and
before the charge's outcome is written.
"""

from decimal import Decimal

import pytest

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Product
from etsy.breakers import reset_all
from orders import payments
from orders.models import Checkout, Order
from orders.services import checkout as checkout_service
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory, set_listing_stock
from tests.orders.conftest import terminate_app_connection
from tests.shops.factories import ShopFactory

ADDRESS = {"name": "Ada Buyer", "line1": "1 Market Street", "city": "Hudson", "postcode": "12534", "country": "US"}
CARD = payments.PM_SUCCEEDS


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()
    yield
    reset_all()


def _cart(buyer) -> list[Product]:
    shop = ShopFactory(shipping_base=Decimal("4.00"), shipping_additional=Decimal("1.00"))
    products = [
        ProductFactory(shop=shop, price=Decimal("24.95"), quantity=3),
        ProductFactory(shop=shop, price=Decimal("12.00"), quantity=3),
    ]
    for product in products:
        cart_services.add_item(user=buyer, product_id=product.pk)
    return products  # total 24.95 + 12.00 + 4.00 + 1.00 = 41.95


def _checkout(client, key: str, **extra):
    return client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": CARD, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


# --- 2. expected_total -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_checkout_with_a_stale_expected_total_is_409_and_charges_nothing(buyer_client, buyer):
    _cart(buyer)
    response = _checkout(buyer_client, "stale-total", expected_total="28.95")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "cart_total_changed"
    assert error["extra"] == {"expected_total": "28.95", "total": "41.95"}
    assert not Checkout.objects.exists() and CartItem.objects.filter(user=buyer).count() == 2
    done = _checkout(buyer_client, "right-total", expected_total="41.95")
    assert done.status_code == 201 and done.json()["total"] == "41.95"


@pytest.mark.django_db
def test_expected_total_is_optional_and_must_be_a_decimal_string(buyer_client, buyer):
    _cart(buyer)
    bad = _checkout(buyer_client, "bad-total", expected_total=41.95)
    assert bad.status_code == 400 and "expected_total" in error_of(bad)["fields"]
    assert _checkout(buyer_client, "no-total").status_code == 201


@pytest.mark.django_db
def test_schema_documents_expected_total_and_its_conflict(api_client):
    schema = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    request = schema["components"]["schemas"]["CheckoutRequestRequest"]["properties"]
    assert "expected_total" in request and "cart_total_changed" in request["expected_total"]["description"]
    assert "expected_total" not in schema["components"]["schemas"]["CheckoutRequestRequest"].get("required", [])
    responses = schema["paths"]["/api/v1/checkout"]["post"]["responses"]
    assert "cart_total_changed" in responses["409"]["description"]
    assert "checkout_interrupted" in responses["503"]["description"] and "500" in responses


# --- issue 15: the service takes sold lines out, whichever interface called it --------------------


@pytest.mark.django_db
def test_api_checkout_takes_a_sold_line_out_of_the_cart_like_the_html_checkout(buyer_client, buyer):
    gone, kept = _cart(buyer)
    set_listing_stock(Product.objects.get(pk=gone.pk), quantity=0)
    response = _checkout(buyer_client, "sold-one")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "item_unavailable" and error["extra"]["removed"] is True
    sold = {"id": gone.pk, "title": gone.title, "offering_id": gone.offerings.get().pk, "options": ""}
    assert error["extra"]["products"] == [sold]
    assert list(CartItem.objects.filter(user=buyer).values_list("product_id", flat=True)) == [kept.pk]
    assert _checkout(buyer_client, "the-rest").status_code == 201


# --- 3. A lost database connection between commit and charge --------------------------------------


@pytest.fixture
def connection_killed_at_the_charge(monkeypatch):
    """Terminate the app's connection at the payment edge, the first ``times`` charges; count charges."""
    real_charge = payments.confirm_payment
    state = {"times": 1, "charges": 0}

    def charge(**kwargs):
        state["charges"] += 1
        if state["times"] > 0:
            state["times"] -= 1
            terminate_app_connection()
        return real_charge(**kwargs)

    monkeypatch.setattr(payments, "confirm_payment", charge)
    return state


@pytest.mark.django_db(transaction=True)
def test_connection_lost_after_commit_is_retried_and_the_checkout_completes(
    client_for, buyer, connection_killed_at_the_charge
):
    products = _cart(buyer)
    response = _checkout(client_for(buyer), "lost-once")
    assert response.status_code == 201, response.content
    checkout = Checkout.objects.get()
    assert str(checkout.pk) == response.json()["checkout_id"] and checkout.payment_status == "paid"
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}
    assert [Product.objects.get(pk=p.pk).quantity for p in products] == [2, 2]  # taken once
    charge = payments.get_provider().retrieve(payment_id="", idempotency_key=checkout.provider_idempotency_key)
    assert charge.status == "succeeded" and charge.amount == Decimal("41.95")


@pytest.mark.django_db(transaction=True)
def test_retry_with_the_same_key_finishes_the_checkout_a_lost_connection_interrupted(
    client_for, buyer, connection_killed_at_the_charge
):
    connection_killed_at_the_charge["times"] = 2  # the request's own retry dies too
    products = _cart(buyer)
    api = client_for(buyer)
    first = _checkout(api, "lost-twice")
    assert first.status_code == 503 and first["Content-Type"] == "application/json"
    assert error_of(first)["code"] == "checkout_interrupted"
    interrupted = Checkout.objects.get()
    assert interrupted.payment_status == "pending" and not CartItem.objects.filter(user=buyer).exists()

    retry = _checkout(api, "lost-twice")
    assert retry.status_code == 201, retry.content  # not 400 cart_empty
    assert retry.json()["checkout_id"] == str(interrupted.pk) and retry.json()["payment_status"] == "paid"
    assert Checkout.objects.count() == 1 and Order.objects.filter(status="paid").count() == 1
    assert [Product.objects.get(pk=p.pk).quantity for p in products] == [2, 2]
    charge = payments.get_provider().retrieve(payment_id="", idempotency_key=interrupted.provider_idempotency_key)
    assert charge.status == "succeeded" and charge.amount == Decimal("41.95")
    assert _checkout(api, "lost-twice").json() == retry.json()  # and from now on it replays


@pytest.mark.django_db
def test_an_unexpected_checkout_failure_is_a_json_500(buyer_client, buyer, monkeypatch):
    _cart(buyer)

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(checkout_service, "place_order", broken)
    response = _checkout(buyer_client, "bug")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "server_error"
