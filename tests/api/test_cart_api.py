"""The cart through the API: holds, conflicts, totals and privacy."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cart.models import CartItem
from tests.api.conftest import error_of
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_cart_requires_sign_in(api_client, product):
    assert api_client.get("/api/v1/cart").status_code == 401
    assert api_client.post("/api/v1/cart/items", {"product_id": product.pk}, format="json").status_code == 401
    assert api_client.patch("/api/v1/cart/items/1", {"quantity": 1}, format="json").status_code == 401
    assert api_client.delete("/api/v1/cart/items/1").status_code == 401
    assert not CartItem.objects.exists()


def test_add_unique_item_returns_201_with_hold(buyer_client, buyer, product):
    before = timezone.now()
    response = buyer_client.post("/api/v1/cart/items", {"product_id": product.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["product_id"] == product.pk and body["quantity"] == 1
    until = datetime.fromisoformat(body["reserved_until"])
    assert before + timedelta(minutes=14) < until <= timezone.now() + timedelta(minutes=15)
    assert CartItem.objects.get(user=buyer).reserved_until == until


def test_item_held_by_another_buyer_is_409_with_reserved_until(buyer_client, other_buyer, product):
    hold = CartItemFactory(user=other_buyer, product=product, reserved_until=timezone.now() + timedelta(minutes=9))
    response = buyer_client.post("/api/v1/cart/items", {"product_id": product.pk}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "item_reserved"
    assert datetime.fromisoformat(error["extra"]["reserved_until"]) == hold.reserved_until
    assert CartItem.objects.filter(product=product).count() == 1


def test_add_more_than_stock_is_409(buyer_client, shop, category):
    stocked = ProductFactory(shop=shop, category=category, quantity=3)
    response = buyer_client.post("/api/v1/cart/items", {"product_id": stocked.pk, "quantity": 4}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "insufficient_stock"
    assert error_of(response)["extra"]["available"] == 3


def test_add_validates_shape_and_existence(buyer_client):
    response = buyer_client.post("/api/v1/cart/items", {"product_id": "12", "quantity": True}, format="json")
    assert response.status_code == 400  # JSON types are exact: no "12" for 12, no true for 1
    assert set(error_of(response)["fields"]) == {"product_id", "quantity"}
    response = buyer_client.post("/api/v1/cart/items", {"product_id": 12, "quantity": 0}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"quantity"}
    response = buyer_client.post("/api/v1/cart/items", {"product_id": 424242}, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "product_not_found"


def test_cart_groups_by_shop_with_decimal_totals(buyer_client, buyer, shop, category):
    other_shop = ShopFactory(name="Another Maker")
    mug = ProductFactory(shop=shop, category=category, price=Decimal("24.00"), quantity=5)
    bowl = ProductFactory(shop=shop, category=category, price=Decimal("10.50"), quantity=5)
    print_ = ProductFactory(shop=other_shop, category=category, price=Decimal("40.00"))
    for product, qty in ((mug, 2), (bowl, 1), (print_, 1)):
        assert (
            buyer_client.post(
                "/api/v1/cart/items", {"product_id": product.pk, "quantity": qty}, format="json"
            ).status_code
            == 201
        )
    body = buyer_client.get("/api/v1/cart").json()
    assert body["item_count"] == 4 and body["is_empty"] is False
    groups = {g["shop"]["id"]: g for g in body["groups"]}
    sams = groups[shop.pk]
    assert sams["subtotal"] == "58.50"
    assert sams["shipping"] == "6.00"  # 4.00 + 2 x 1.00
    assert sams["total"] == "64.50"
    assert groups[other_shop.pk]["total"] == "44.00"
    assert body["total"] == "108.50"
    line = next(line for line in sams["lines"] if line["product"]["id"] == mug.pk)
    assert line["unit_price"] == "24.00" and line["line_total"] == "48.00" and line["reserved_until"] is None


def test_cart_query_count_is_constant(
    buyer_client, buyer, shop, category, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            CartItemFactory(user=buyer, product=ProductFactory(shop=ShopFactory(), category=category))
    # token auth, then products + images, stock and holds, shops (the lines are written through)
    with django_assert_max_num_queries(5):
        response = buyer_client.get("/api/v1/cart")
    assert response.json()["item_count"] == 6
    with django_assert_max_num_queries(1):  # token auth only
        assert buyer_client.get("/api/v1/cart").json()["item_count"] == 6


def test_patch_and_delete_lines(buyer_client, buyer, shop, category):
    stocked = ProductFactory(shop=shop, category=category, quantity=5)
    line = buyer_client.post("/api/v1/cart/items", {"product_id": stocked.pk}, format="json").json()["id"]
    response = buyer_client.patch(f"/api/v1/cart/items/{line}", {"quantity": 3}, format="json")
    assert response.status_code == 200
    assert CartItem.objects.get(user=buyer, product=stocked).quantity == 3
    assert buyer_client.patch(f"/api/v1/cart/items/{line}", {"quantity": 9}, format="json").status_code == 409
    assert buyer_client.patch(f"/api/v1/cart/items/{line}", {"quantity": 0}, format="json").status_code == 204
    assert not CartItem.objects.filter(user=buyer).exists()
    assert buyer_client.delete(f"/api/v1/cart/items/{line}").status_code == 404


def test_buyer_cannot_see_or_change_another_buyers_cart(buyer_client, other_buyer, product):
    line = CartItemFactory(user=other_buyer, product=product, reserved_until=timezone.now() + timedelta(minutes=5))
    assert buyer_client.get("/api/v1/cart").json()["is_empty"] is True
    assert buyer_client.patch(f"/api/v1/cart/items/{line.pk}", {"quantity": 1}, format="json").status_code == 404
    assert buyer_client.delete(f"/api/v1/cart/items/{line.pk}").status_code == 404
    line.refresh_from_db()
    assert line.user_id == other_buyer.pk and line.quantity == 1 and line.reserved_until is not None


def test_a_line_is_answered_as_its_serializer_fields_would_answer_it(buyer, shop, category):
    from rest_framework import serializers

    from cart.api.serializers import CartItemSerializer
    from tests.catalog.factories import add_variations

    ring = ProductFactory(shop=shop, category=category, quantity=1)
    gold = add_variations(ring, {"Size": ["7"], "Metal": ["Gold"]}, quantity=2)[("7", "Gold")]
    held = CartItemFactory(user=buyer, quantity=1, reserved_until=timezone.now() + timedelta(minutes=15))
    engraved = CartItemFactory(user=buyer, product=ring, offering=gold, quantity=2, personalization="For Ada")
    for line in (held, engraved):
        line = CartItem.objects.select_related("offering__option1__variation", "offering__option2__variation").get(
            pk=line.pk
        )
        mine = CartItemSerializer(line).data
        fields = serializers.Serializer.to_representation(CartItemSerializer(line), line)
        assert dict(mine) == dict(fields) == CartItemSerializer.represent(line)
    assert dict(CartItemSerializer(engraved).data)["options"] == "Size: 7, Metal: Gold"


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": 5},
        {"product_id": 5, "quantity": 3},
        {"offering_id": 9, "quantity": 1, "personalization": "  For Ada\n"},
        {"offering_id": 9, "product_id": 5, "personalization": ""},
        {"product_id": 2**63 - 1, "quantity": 10_000, "note": "ignored"},
        {"product_id": 5, "personalization": "x" * 1024},
        {"product_id": 5, "personalization": "x" * 1025},
        {"product_id": 5, "personalization": "nul \x00"},
        {"product_id": 5, "personalization": "half \ud800"},
        {"product_id": 5, "personalization": None},
        {"product_id": 5, "personalization": 7},
        {"product_id": 2**63},
        {"product_id": 0},
        {"product_id": True},
        {"product_id": 5.0},
        {"product_id": "5"},
        {"product_id": None},
        {"offering_id": None, "product_id": 5},
        {"product_id": 5, "quantity": 0},
        {"product_id": 5, "quantity": 10_001},
        {"product_id": 5, "quantity": None},
        {"quantity": 2},
        {},
        [],
        "5",
        None,
    ],
)
def test_an_add_is_validated_as_its_serializer_validates_it(body):
    from rest_framework.exceptions import ValidationError

    from cart.api.serializers import AddCartItemSerializer

    serializer = AddCartItemSerializer(data=body)
    expected = dict(serializer.validated_data) if serializer.is_valid() else serializer.errors
    try:
        answer = AddCartItemSerializer.validated(body)
    except ValidationError as exc:
        answer = exc.detail
    assert answer == expected
