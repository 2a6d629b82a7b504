"""The API answers in its JSON error format whatever fails, and its schema says what it does:
the probe's findings (Schemathesis against the live schema), each replayed by hand."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from cart.models import CartItem
from etsy import idempotency
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def live_schema(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/v1/schema?format=json").json()


def assert_api_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error_of(response)


# --- every error under /api/ is JSON ------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cart/items/%0A",
        "/api/v1/products/%0A",
        "/api/v1/products/1%0A",
        "/api/v1/%0A",
        "/api/v1/shops/1/%0Areviews",
        "/api/%0A",
        "/api/unknown",
        "/api/v2/products",
    ],
)
def test_unknown_api_paths_answer_json_404_even_with_a_newline(buyer_client, path):
    assert_api_error(buyer_client.get(path), 404)
    assert_api_error(buyer_client.post(path, {}, format="json"), 404)


def test_a_replaced_error_keeps_its_headers(client):
    response = client.get("/api/v1/%0A")
    assert_api_error(response, 404)
    assert response["X-Frame-Options"] == "DENY" and response["Cache-Control"] == "private, no-store"
    assert "X-Request-ID" in response


def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/no-such-page/%0A")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_methods_an_api_address_does_not_take_answer_json_405_with_allow(method):
    for path in ("/api/health", "/api/v1/categories", "/api/v1/schema"):
        response = getattr(Client(), method)(path)
        assert_api_error(response, 405)
        assert "GET" in response["Allow"]


def test_an_unhandled_error_under_the_api_answers_json_500(buyer_client, monkeypatch):
    from cart import selectors

    def explode(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "get_cart_summary", explode)
    buyer_client.raise_request_exception = False
    response = buyer_client.get("/api/v1/cart")
    assert_api_error(response, 500)
    assert error_of(response)["code"] == "server_error" and "a bug" not in response.content.decode()


def test_a_csrf_refusal_under_the_api_answers_json_403(buyer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer)  # session authentication: DRF enforces CSRF on unsafe methods
    response = client.post("/api/v1/cart/items", {"product_id": 1}, content_type="application/json")
    assert_api_error(response, 403)


# --- cart quantity: the schema gives the real bounds, the message says them ----------------------
def test_cart_quantity_bounds_are_in_the_schema(live_schema):
    def quantity(component):
        return live_schema["components"]["schemas"][component]["properties"]["quantity"]

    assert (quantity("AddCartItemRequest")["minimum"], quantity("AddCartItemRequest")["maximum"]) == (1, 10000)
    assert (quantity("PatchedSetQuantityRequest")["minimum"], quantity("PatchedSetQuantityRequest")["maximum"]) == (
        0,
        10000,
    )


def test_a_quantity_past_the_bound_is_a_field_error_that_says_the_bound(buyer_client, product):
    response = buyer_client.post("/api/v1/cart/items", {"product_id": product.pk, "quantity": 100000}, format="json")
    assert_api_error(response, 400)
    assert "10000" in error_of(response)["fields"]["quantity"][0]
    assert "at least 1" not in response.content.decode()


def test_the_cart_service_states_the_bounds_it_refuses(buyer):
    from cart import services
    from cart.exceptions import InvalidQuantity

    product = ProductFactory(quantity=5)
    with pytest.raises(InvalidQuantity) as refused:
        services.add_item(user=buyer, product_id=product.pk, quantity=10_001)
    assert refused.value.message == "Quantity must be a whole number from 1 to 10,000."
    assert refused.value.extra == {"min": 1, "max": 10_000}


# --- PATCH of a cart line: {} is allowed by the schema, so the API takes it ----------------------
def test_patching_a_cart_line_with_an_empty_body_changes_nothing(buyer_client, buyer, live_schema):
    product = ProductFactory(quantity=5)
    line = CartItem.objects.create(user=buyer, product=product, offering=product.offerings.get(), quantity=2)
    body = live_schema["paths"]["/api/v1/cart/items/{line_id}"]["patch"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert not live_schema["components"]["schemas"][schema].get("required")  # {} is a valid body
    response = buyer_client.patch(f"/api/v1/cart/items/{line.pk}", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": line.pk,
        "product_id": product.pk,
        "offering_id": line.offering_id,
        "options": "",
        "personalization": "",
        "quantity": 2,
        "reserved_until": None,
    }
    assert CartItem.objects.get(user=buyer, product=product).quantity == 2
    missing = buyer_client.patch(f"/api/v1/cart/items/{line.pk + 1}", {}, format="json")
    assert_api_error(missing, 404)


# --- Idempotency-Key: required, and its documented form is exactly what the server takes -------
def test_idempotency_key_is_a_required_header_with_its_documented_form(live_schema):
    (parameter,) = [
        p for p in live_schema["paths"]["/api/v1/checkout"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    ]
    assert parameter["in"] == "header" and parameter["required"] is True
    assert parameter["schema"]["minLength"] == 1 and parameter["schema"]["pattern"] == idempotency.KEY_SCHEMA["pattern"]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.from_regex(idempotency.KEY_SCHEMA["pattern"], fullmatch=True))
def test_every_key_the_schema_allows_is_accepted(key):
    assert idempotency.parse_key(key)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=300))
def test_a_key_the_schema_refuses_is_refused_by_the_server(key):
    documented = re.fullmatch(idempotency.KEY_SCHEMA["pattern"], key) and len(key) <= 257
    try:
        idempotency.parse_key(key.strip())
        accepted = True
    except (idempotency.IdempotencyKeyMissing, idempotency.IdempotencyKeyInvalid):
        accepted = False
    if not documented and key == key.strip():
        assert not accepted, repr(key)


# --- price_min above price_max: documented -------------------------------------------------------
def test_search_documents_its_400_for_price_min_above_price_max(live_schema, client):
    responses = live_schema["paths"]["/api/v1/search"]["get"]["responses"]
    assert "price_min" in responses["400"]["description"] and "price_max" in responses["400"]["description"]
    response = client.get("/api/v1/search?price_min=10&price_max=5")
    assert_api_error(response, 400)
    assert error_of(response)["code"] == "invalid_search"
