"""What the schema calls valid is exactly what the API accepts: literal types, no silent coercion."""

import pytest

from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query, field",
    [
        ("ordering=newest&ordering=popular", "ordering"),  # repeated
        ("ordering=", "ordering"),  # empty is not "absent"
        ("vintage=1", "vintage"),  # only true/false
        ("vintage=yes", "vintage"),
        ("shop=1.0", "shop"),
        ("shop=%D9%A3", "shop"),  # a non-ASCII digit
        ("price_min=1e2", "price_min"),
        ("price_min=+5", "price_min"),
        ("price_min=%205", "price_min"),
        ("price_min=5.123", "price_min"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=10&page_size=20", "page_size"),
        ("page=abc", "page"),
    ],
)
def test_malformed_query_values_are_400_field_errors(api_client, query, field):
    response = api_client.get(f"/api/v1/products?{query}")
    assert response.status_code == 400, (query, response.content)
    assert field in error_of(response)["fields"]


def test_well_formed_query_values_are_accepted(api_client, product):
    response = api_client.get("/api/v1/products?vintage=false&price_min=5&price_max=99.5&page_size=100&shop=1")
    assert response.status_code == 200
    assert api_client.get("/api/v1/products?page=2").status_code == 404  # past the last page


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": 5, "price": "1.00", "category": "home-living"}, "title"),
        ({"title": "Cup", "price": 1.0, "category": "home-living"}, "price"),
        ({"title": "Cup", "price": "1.00", "category": "home-living", "quantity": "2"}, "quantity"),
        ({"title": "Cup", "price": "1.00", "category": "home-living", "quantity": True}, "quantity"),
        ({"title": "Cup", "price": "1.00", "category": "home-living", "is_vintage": "true"}, "is_vintage"),
        ({"title": "Cup", "price": "1.00", "category": "home-living", "tags": ["ok", 3]}, "tags"),
        ({"title": "Cup", "price": "", "category": "home-living"}, "price"),
    ],
)
def test_json_values_must_have_their_documented_type(seller_client, category, body, field):
    response = seller_client.post("/api/v1/seller/products", body, format="json")
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]


def test_type_and_value_errors_are_reported_together(seller_client, category):
    response = seller_client.post("/api/v1/seller/products", {"title": 5, "price": "-1"}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"title", "price", "category"}


def test_nullable_decimal_takes_json_null_not_empty_string(seller_client, shop):
    assert (
        seller_client.patch("/api/v1/seller/shop", {"free_shipping_threshold": None}, format="json").status_code == 200
    )
    response = seller_client.patch("/api/v1/seller/shop", {"free_shipping_threshold": ""}, format="json")
    assert response.status_code == 400
