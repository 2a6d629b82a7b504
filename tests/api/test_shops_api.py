"""Shop reads, opening a shop, editing your own shop and its figures."""

from decimal import Decimal

import pytest

from shops.models import Shop
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory
from tests.orders.factories import ReviewFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_shop_detail(api_client, shop):
    response = api_client.get(f"/api/v1/shops/{shop.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Sam's Workshop"
    assert body["shipping_base"] == "4.00"
    assert "is_active" not in body and "owner" not in body


def test_closed_or_missing_shop_is_404(api_client, shop):
    Shop.objects.filter(pk=shop.pk).update(is_active=False)
    for path in (f"/api/v1/shops/{shop.pk}", "/api/v1/shops/999999", f"/api/v1/shops/{shop.pk}/products"):
        response = api_client.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "shop_not_found"


def test_shop_products_lists_only_that_shop(api_client, shop, category):
    mine = ProductFactory(shop=shop, category=category)
    ProductFactory(category=category)
    body = api_client.get(f"/api/v1/shops/{shop.pk}/products").json()
    assert [p["id"] for p in body["results"]] == [mine.pk]


def test_shop_reviews_newest_first_without_private_data(api_client):
    first = ReviewFactory(rating=4)
    shop = first.shop
    second = ReviewFactory(order__shop=shop, shop=shop, rating=5)
    ReviewFactory()  # another shop's review
    response = api_client.get(f"/api/v1/shops/{shop.pk}/reviews")
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body] == [second.pk, first.pk]
    assert set(body[0]) == {"id", "rating", "comment", "reviewer_name", "seller_reply", "replied_at", "created_at"}


def test_open_shop_makes_the_caller_a_seller(buyer_client, buyer):
    response = buyer_client.post("/api/v1/shops", {"name": "Bea's Bindery", "shipping_base": "3.50"}, format="json")
    assert response.status_code == 201, response.content
    shop = Shop.objects.get(owner=buyer)
    assert shop.name == "Bea's Bindery" and shop.shipping_base == Decimal("3.50")
    buyer.refresh_from_db()
    assert buyer.is_staff
    assert buyer_client.get("/api/v1/seller/shop").json()["id"] == shop.pk
    assert buyer_client.get("/api/v1/me").json()["has_shop"] is True


def test_open_shop_twice_or_with_taken_name_is_409(buyer_client, seller_client, shop):
    response = seller_client.post("/api/v1/shops", {"name": "Second shop"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "already_has_shop"
    response = buyer_client.post("/api/v1/shops", {"name": "SAM'S WORKSHOP"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "shop_name_taken"
    assert Shop.objects.count() == 1


def test_open_shop_requires_sign_in(api_client):
    assert api_client.post("/api/v1/shops", {"name": "Anon"}, format="json").status_code == 401
    assert not Shop.objects.exists()


def test_seller_edits_only_their_own_shop(seller_client, client_for, shop):
    other = ShopFactory(name="Other Shop")
    response = seller_client.patch("/api/v1/seller/shop", {"description": "New words", "id": other.pk}, format="json")
    assert response.status_code == 200
    shop.refresh_from_db()
    other.refresh_from_db()
    assert shop.description == "New words"
    assert other.description == "Small-batch goods made by hand."
    other_client = client_for(other.owner)
    assert other_client.get("/api/v1/seller/shop").json()["id"] == other.pk


def test_seller_endpoints_refuse_buyers_and_anonymous(api_client, buyer_client):
    for path in ("/api/v1/seller/shop", "/api/v1/seller/stats"):
        assert api_client.get(path).status_code == 401
        response = buyer_client.get(path)
        assert response.status_code == 403
        assert error_of(response)["code"] == "not_a_seller"
    assert buyer_client.patch("/api/v1/seller/shop", {"name": "Mine now"}, format="json").status_code == 403


def test_seller_shop_patch_validates_shape(seller_client, shop):
    response = seller_client.patch(
        "/api/v1/seller/shop", {"shipping_base": "-1", "processing_days": "soon"}, format="json"
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"shipping_base", "processing_days"}
    shop.refresh_from_db()
    assert shop.shipping_base == Decimal("4.00")


def test_seller_stats_shape(seller_client, shop):
    response = seller_client.get("/api/v1/seller/stats", {"days": 7})
    assert response.status_code == 200
    body = response.json()
    assert len(body["days"]) == 7
    assert body["revenue"] == "0.00"
    assert body["conversion"] is None
