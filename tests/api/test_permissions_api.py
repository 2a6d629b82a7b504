"""Access rules across the whole API, derived from the live schema so new endpoints are covered."""

import re

import pytest

from catalog.models import Favorite
from tests.api.conftest import error_of
from tests.catalog.factories import FavoriteFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

PUBLIC = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/categories"),
    ("get", "/api/v1/products"),
    ("get", "/api/v1/products/{product_id}"),
    ("get", "/api/v1/feed"),
    ("get", "/api/v1/search"),
    ("get", "/api/v1/search/suggestions"),
    ("get", "/api/v1/shops/{shop_id}"),
    ("get", "/api/v1/shops/{shop_id}/products"),
    ("get", "/api/v1/shops/{shop_id}/reviews"),
}
SELLER_ONLY = re.compile(r"^/api/v1/seller/")


def _operations(api_client):
    schema = api_client.get("/api/v1/schema", {"format": "json"}).json()
    for path, item in schema["paths"].items():
        for method in item:
            yield method, path


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_non_public_operation_refuses_anonymous_callers(api_client):
    checked = 0
    for method, path in _operations(api_client):
        if (method, path) in PUBLIC:
            continue
        response = getattr(api_client, method)(_concrete(path), {}, format="json")
        assert response.status_code == 401, (method, path, response.status_code)
        assert error_of(response)["code"] == "not_authenticated"
        checked += 1
    assert checked >= 25


def test_every_seller_operation_refuses_a_buyer_without_a_shop(api_client, buyer_client):
    checked = 0
    for method, path in _operations(api_client):
        if not SELLER_ONLY.match(path):
            continue
        response = getattr(buyer_client, method)(_concrete(path), {}, format="json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert error_of(response)["code"] == "not_a_seller"
        checked += 1
    assert checked >= 9


def test_public_operations_answer_anonymous_callers(api_client, product):
    assert api_client.get(f"/api/v1/products/{product.pk}").status_code == 200
    assert api_client.get(f"/api/v1/shops/{product.shop_id}/reviews").status_code == 200
    assert api_client.get("/api/v1/categories").status_code == 200


def test_removing_a_shop_favorite_touches_only_your_own(buyer_client, other_buyer):
    shop = ShopFactory()
    theirs = FavoriteFactory(user=other_buyer, kind=Favorite.Kind.SHOP, product=None, shop=shop)
    assert buyer_client.delete(f"/api/v1/favorites/shops/{shop.pk}").status_code == 404
    assert Favorite.objects.filter(pk=theirs.pk).exists()
