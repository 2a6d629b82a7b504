"""Catalog reads through the API: wiring to the selectors, shapes, pagination, query counts."""

from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Favorite, Product
from tests.api.conftest import error_of
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import CategoryFactory, FavoriteFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    home = CategoryFactory(name="Home", slug="home")
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen", parent=home)
    art = CategoryFactory(name="Art", slug="art", position=1)
    return {"home": home, "kitchen": kitchen, "art": art}


def test_categories_are_a_nested_tree(api_client, tree):
    response = api_client.get("/api/v1/categories")
    assert response.status_code == 200
    home = next(c for c in response.json() if c["slug"] == "home")
    assert home["parent_id"] is None and home["depth"] == 0
    assert [c["slug"] for c in home["children"]] == ["kitchen"]
    assert home["children"][0]["parent_id"] == tree["home"].pk
    assert home["children"][0]["children"] == []


def test_products_filter_by_category_including_subcategories(api_client, tree, shop):
    in_kitchen = ProductFactory(shop=shop, category=tree["kitchen"])
    ProductFactory(shop=shop, category=tree["art"])
    ProductFactory(shop=shop, category=tree["kitchen"], quantity=0)
    response = api_client.get("/api/v1/products", {"category": "home"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [p["id"] for p in body["results"]] == [in_kitchen.pk]
    # in_stock=false includes the sold-out listing
    assert api_client.get("/api/v1/products", {"category": "home", "in_stock": "false"}).json()["count"] == 2


def test_products_filters_price_vintage_shop_and_ordering(api_client, tree, shop):
    cheap = ProductFactory(shop=shop, category=tree["art"], price=Decimal("10.00"))
    mid = ProductFactory(shop=shop, category=tree["art"], price=Decimal("30.00"), is_vintage=True)
    dear = ProductFactory(category=tree["art"], price=Decimal("120.00"))

    def ids(**params):
        return [p["id"] for p in api_client.get("/api/v1/products", params).json()["results"]]

    assert ids(ordering="price_asc") == [cheap.pk, mid.pk, dear.pk]
    assert ids(ordering="price_desc") == [dear.pk, mid.pk, cheap.pk]
    assert ids(price_min="25", price_max="50") == [mid.pk]
    assert ids(vintage="true") == [mid.pk]
    assert set(ids(shop=shop.pk)) == {cheap.pk, mid.pk}


def test_prices_are_decimal_strings(api_client, product):
    body = api_client.get("/api/v1/products").json()
    assert body["results"][0]["price"] == "24.00"
    assert body["results"][0]["shop"]["rating"] == "4.5"


def test_products_reject_bad_filters_with_field_errors(api_client):
    response = api_client.get("/api/v1/products", {"price_min": "cheap", "ordering": "random", "shop": "x"})
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"price_min", "ordering", "shop"}


def test_unknown_category_is_404_with_domain_code(api_client):
    response = api_client.get("/api/v1/products", {"category": "no-such-category"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "category_not_found"


def test_products_pagination_is_stable_with_equal_sort_keys(api_client, shop, category):
    now = timezone.now()
    made = [ProductFactory(shop=shop, category=category, price=Decimal("5.00")) for _ in range(7)]
    Product.objects.filter(pk__in=[p.pk for p in made]).update(created_at=now)  # identical timestamps
    seen = []
    for ordering in ("newest", "price_asc"):
        seen = []
        page = 1
        while True:
            response = api_client.get("/api/v1/products", {"page": page, "page_size": 3, "ordering": ordering})
            body = response.json()
            seen += [p["id"] for p in body["results"]]
            if not body["next"]:
                break
            page += 1
        assert sorted(seen) == sorted(p.pk for p in made), ordering
        assert len(seen) == len(set(seen))
    assert api_client.get("/api/v1/products", {"page": 99}).status_code == 404


def test_product_list_query_count_does_not_grow_with_rows(api_client, shop, category, django_assert_max_num_queries):
    for _ in range(10):
        ProductFactory(shop=shop, category=category)
    with django_assert_max_num_queries(4):  # count, rows, images (+ category tree when uncached)
        response = api_client.get("/api/v1/products")
    assert response.json()["count"] == 10


def test_product_detail(api_client, product):
    response = api_client.get(f"/api/v1/products/{product.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == product.pk
    assert body["description"] == product.description
    assert body["is_reserved"] is False and body["reserved_until"] is None
    assert body["is_favorite"] is False
    assert body["shop"]["id"] == product.shop_id


def test_product_detail_shows_another_buyers_hold(buyer_client, other_buyer, product):
    until = timezone.now() + timezone.timedelta(minutes=10)
    CartItemFactory(user=other_buyer, product=product, reserved_until=until)
    body = buyer_client.get(f"/api/v1/products/{product.pk}").json()
    assert body["is_reserved"] is True
    assert body["reserved_until"] is not None


def test_product_detail_missing_and_inactive_are_404(api_client, product):
    Product.objects.filter(pk=product.pk).update(is_active=False)
    for pk in (product.pk, 999999, 2**63):
        response = api_client.get(f"/api/v1/products/{pk}")
        assert response.status_code == 404, pk
        assert error_of(response)["code"] in ("product_not_found", "not_found")


def test_feed_for_anonymous_visitors(api_client, product):
    response = api_client.get("/api/v1/feed", {"limit": 5})
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert api_client.get("/api/v1/feed", {"limit": 0}).status_code == 400


def test_favorites_add_list_remove(buyer_client, buyer, product):
    response = buyer_client.post("/api/v1/favorites", {"kind": "product", "id": product.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["product"]["id"] == product.pk
    response = buyer_client.post("/api/v1/favorites", {"kind": "shop", "id": product.shop_id}, format="json")
    assert response.status_code == 201
    again = buyer_client.post("/api/v1/favorites", {"kind": "product", "id": product.pk}, format="json")
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_favorited"

    listed = buyer_client.get("/api/v1/favorites").json()
    assert {f["kind"] for f in listed["results"]} == {"product", "shop"}
    assert buyer_client.get(f"/api/v1/products/{product.pk}").json()["is_favorite"] is True

    assert buyer_client.delete(f"/api/v1/favorites/products/{product.pk}").status_code == 204
    assert buyer_client.delete(f"/api/v1/favorites/shops/{product.shop_id}").status_code == 204
    assert not Favorite.objects.filter(user=buyer).exists()


def test_favorites_validate_kind_and_id(buyer_client, product):
    response = buyer_client.post("/api/v1/favorites", {"kind": "listing", "id": "7"}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"kind", "id"}
    assert buyer_client.post("/api/v1/favorites", {}, format="json").status_code == 400
    missing = buyer_client.post("/api/v1/favorites", {"kind": "product", "id": 987654}, format="json")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "product_not_found"


def test_favorites_are_private(api_client, buyer_client, other_buyer_client, other_buyer, product):
    FavoriteFactory(user=other_buyer, product=product)
    assert api_client.get("/api/v1/favorites").status_code == 401
    assert buyer_client.get("/api/v1/favorites").json()["count"] == 0
    # removing someone else's favorite removes nothing
    assert buyer_client.delete(f"/api/v1/favorites/products/{product.pk}").status_code == 404
    assert Favorite.objects.filter(user=other_buyer, product=product).exists()
    assert api_client.post("/api/v1/favorites", {"kind": "product", "id": product.pk}, format="json").status_code == 401
