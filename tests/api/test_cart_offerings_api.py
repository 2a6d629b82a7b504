"""The cart API with offerings and personalisation: what is bought is named, bad choices are 400 with fields."""

from decimal import Decimal

import pytest

from cart.models import CartItem
from catalog.models import Personalization
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory, add_variations, set_offering_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring(shop, category):
    product = ProductFactory(
        shop=shop,
        category=category,
        title="Stacking ring",
        price=Decimal("40.00"),
        personalization=Personalization.REQUIRED,
        personalization_prompt="Initials to engrave",
        personalization_max_length=3,
    )
    return product, add_variations(product, {"Size": ["6", "7"]}, quantity=4)


def _add(client, **body):
    return client.post("/api/v1/cart/items", body, format="json")


def test_adding_an_offering_with_personalisation_returns_the_line_with_its_options(buyer_client, buyer, ring):
    product, sizes = ring
    response = _add(buyer_client, offering_id=sizes[("7",)].pk, quantity=2, personalization=" JS ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["offering_id"] == sizes[("7",)].pk and body["product_id"] == product.pk
    assert (body["options"], body["personalization"], body["quantity"]) == ("Size: 7", "JS", 2)
    assert body["id"] == CartItem.objects.get(user=buyer).pk

    cart = buyer_client.get("/api/v1/cart").json()
    line = cart["groups"][0]["lines"][0]
    assert (line["id"], line["offering_id"], line["options"], line["personalization"]) == (
        body["id"],
        sizes[("7",)].pk,
        "Size: 7",
        "JS",
    )
    shipping = Decimal(cart["shipping"])
    assert shipping == product.shop.shipping_for(item_count=2, subtotal=Decimal("80.00")) > 0
    assert Decimal(cart["total"]) == Decimal("80.00") + shipping


def test_a_line_is_changed_and_removed_by_its_id(buyer_client, buyer, ring):
    _, sizes = ring
    first = _add(buyer_client, offering_id=sizes[("6",)].pk, personalization="AB").json()
    second = _add(buyer_client, offering_id=sizes[("6",)].pk, personalization="CD").json()
    assert first["id"] != second["id"]  # one size, two engravings: two lines
    response = buyer_client.patch(f"/api/v1/cart/items/{second['id']}", {"quantity": 3}, format="json")
    assert response.status_code == 200 and response.json()["quantity"] == 3
    too_many = buyer_client.patch(f"/api/v1/cart/items/{second['id']}", {"quantity": 4}, format="json")
    assert too_many.status_code == 409  # 1 + 4 > 4: the two lines share the size's stock
    assert buyer_client.delete(f"/api/v1/cart/items/{first['id']}").status_code == 204
    assert list(CartItem.objects.filter(user=buyer).values_list("personalization", "quantity")) == [("CD", 3)]


@pytest.mark.parametrize(
    ("case", "field", "code"),
    [
        ("listing_with_variations_by_product", "offering_id", "offering_not_found"),
        ("offering_of_another_listing", "offering_id", "offering_not_found"),
        ("no_such_offering", "offering_id", "offering_not_found"),
        ("switched_off", "offering_id", "offering_unavailable"),
        ("personalisation_missing", "personalization", "personalization_required"),
        ("personalisation_too_long", "personalization", "personalization_too_long"),
        ("personalisation_not_asked", "personalization", "personalization_not_accepted"),
    ],
)
def test_bad_choices_are_400_with_field_errors_and_store_nothing(buyer_client, shop, ring, case, field, code):
    product, sizes = ring
    other = ProductFactory(shop=shop, quantity=3)
    six = sizes[("6",)]
    body = {
        "listing_with_variations_by_product": lambda: {"product_id": product.pk, "personalization": "AB"},
        "offering_of_another_listing": lambda: {"offering_id": other.offerings.get().pk, "product_id": product.pk},
        "no_such_offering": lambda: {"offering_id": 10**9, "personalization": "AB"},
        "switched_off": lambda: {"offering_id": set_offering_stock(six, is_enabled=False).pk, "personalization": "AB"},
        "personalisation_missing": lambda: {"offering_id": six.pk, "personalization": "   "},
        "personalisation_too_long": lambda: {"offering_id": six.pk, "personalization": "ABCD"},
        "personalisation_not_asked": lambda: {"product_id": other.pk, "personalization": "AB"},
    }[case]()
    response = _add(buyer_client, **body)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == code
    assert list(error["fields"]) == [field] and error["fields"][field][0]
    assert not CartItem.objects.exists()


def test_a_plain_listing_is_added_by_product_id(buyer_client, shop):
    mug = ProductFactory(shop=shop, quantity=5)
    response = _add(buyer_client, product_id=mug.pk, quantity=2)
    assert response.status_code == 201, response.content
    assert response.json()["offering_id"] == mug.offerings.get().pk and response.json()["options"] == ""


def test_neither_offering_nor_product_is_400(buyer_client):
    response = _add(buyer_client, quantity=1)
    assert response.status_code == 400 and "offering_id" in error_of(response)["fields"]
