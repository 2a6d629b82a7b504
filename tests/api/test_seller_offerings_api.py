"""A seller's variations, offerings and personalisation settings through the API; never another shop's."""

from decimal import Decimal

import pytest

from catalog.models import Offering, Product, Variation
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

RING_GRID = {
    "variations": [{"name": "Size", "options": ["6", "7"]}, {"name": "Metal", "options": ["Silver", "Gold"]}],
    "offerings": [
        {"options": ["6", "Silver"], "price": "40.00", "quantity": 2, "sku": "R6S"},
        {"options": ["6", "Gold"], "price": "80.00", "quantity": 1, "sku": "R6G"},
        {"options": ["7", "Silver"], "price": "40.00", "quantity": 0, "sku": "R7S"},
        {"options": ["7", "Gold"], "price": "80.00", "quantity": 1, "sku": "R7G", "is_enabled": False},
    ],
}


@pytest.fixture
def rival_product(category):
    return ProductFactory(shop=ShopFactory(name="Rival Rings"), category=category, title="Rival ring")


def _url(product, suffix="offerings"):
    return f"/api/v1/seller/products/{product.pk}/{suffix}"


def test_a_plain_listing_shows_its_one_offering(seller_client, product):
    body = seller_client.get(_url(product)).json()
    offering = Offering.objects.get(product=product)
    assert body == {
        "variations": [],
        "offerings": [
            {"id": offering.pk, "options": [], "price": "24.00", "quantity": 1, "sku": "", "is_enabled": True}
        ],
    }


def test_put_the_whole_grid_then_patch_one_offering(seller_client, product):
    response = seller_client.put(_url(product), RING_GRID, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["variations"] == RING_GRID["variations"]
    assert [(o["options"], o["price"], o["quantity"], o["sku"], o["is_enabled"]) for o in body["offerings"]] == [
        (["6", "Silver"], "40.00", 2, "R6S", True),
        (["6", "Gold"], "80.00", 1, "R6G", True),
        (["7", "Silver"], "40.00", 0, "R7S", True),
        (["7", "Gold"], "80.00", 1, "R7G", False),
    ]
    product.refresh_from_db()
    assert (product.price, product.quantity) == (Decimal("40.00"), 3)
    listing = seller_client.get(f"/api/v1/seller/products/{product.pk}").json()
    assert listing["price"] == "40.00" and listing["quantity"] == 3

    gold_seven = body["offerings"][3]["id"]
    response = seller_client.patch(
        _url(product, f"offerings/{gold_seven}"), {"is_enabled": True, "price": "75.50"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": gold_seven,
        "options": ["7", "Gold"],
        "price": "75.50",
        "quantity": 1,
        "sku": "R7G",
        "is_enabled": True,
    }
    product.refresh_from_db()
    assert product.quantity == 4


def test_the_listing_patch_refuses_a_price_once_offerings_set_it(seller_client, product):
    seller_client.put(_url(product), RING_GRID, format="json")
    response = seller_client.patch(f"/api/v1/seller/products/{product.pk}", {"price": "1.00"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_listing"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda g: g["offerings"].pop(), "offerings"),
        (lambda g: g["offerings"][0].update(options=["9", "Silver"]), "offerings.0.options"),
        (lambda g: g["offerings"][1].update(options=["6", "Silver"]), "offerings.1.options"),
        (lambda g: g["variations"][1].update(name="size"), "variations.1.name"),
        (lambda g: g["variations"][0].update(options=["6", "6"]), "variations.0.options"),
        (lambda g: g["variations"].append({"name": "Stone", "options": ["Opal"]}), "variations"),
        (lambda g: g["offerings"][0].update(price="-1.00"), "offerings"),
        (lambda g: g["offerings"][0].update(price=40), "offerings"),
        (lambda g: g["offerings"][0].update(quantity=-1), "offerings"),
        (lambda g: g["offerings"][0].update(quantity="2"), "offerings"),
    ],
)
def test_bad_grids_answer_400_with_field_errors_and_store_nothing(seller_client, product, change, field):
    grid = {
        "variations": [dict(v) for v in RING_GRID["variations"]],
        "offerings": [dict(o) for o in RING_GRID["offerings"]],
    }
    for v in grid["variations"]:
        v["options"] = list(v["options"])
    change(grid)
    response = seller_client.put(_url(product), grid, format="json")
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]
    assert not Variation.objects.filter(product=product).exists()
    assert list(Offering.objects.filter(product=product).values_list("option1", "quantity")) == [(None, 1)]


def test_patch_of_an_offering_refuses_bad_values(seller_client, product):
    offering = Offering.objects.get(product=product)
    response = seller_client.patch(_url(product, f"offerings/{offering.pk}"), {"price": "1.005"}, format="json")
    assert response.status_code == 400 and "price" in error_of(response)["fields"]
    response = seller_client.patch(_url(product, f"offerings/{offering.pk}"), {"sku": "x" * 65}, format="json")
    assert response.status_code == 400 and "sku" in error_of(response)["fields"]
    offering.refresh_from_db()
    assert offering.price == Decimal("24.00") and offering.sku == ""


def test_personalization_settings(seller_client, product):
    response = seller_client.put(
        _url(product, "personalization"),
        {
            "personalization": "required",
            "personalization_prompt": "Initials to engrave",
            "personalization_max_length": 3,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "personalization": "required",
        "personalization_prompt": "Initials to engrave",
        "personalization_max_length": 3,
    }
    listing = seller_client.get(f"/api/v1/seller/products/{product.pk}").json()
    assert listing["personalization"] == "required" and listing["personalization_max_length"] == 3
    response = seller_client.put(_url(product, "personalization"), {"personalization": "required"}, format="json")
    assert response.status_code == 400
    assert "personalization_prompt" in error_of(response)["fields"]
    response = seller_client.put(
        _url(product, "personalization"),
        {"personalization": "optional", "personalization_max_length": 2000},
        format="json",
    )
    assert response.status_code == 400 and "personalization_max_length" in error_of(response)["fields"]
    assert Product.objects.get(pk=product.pk).personalization_max_length == 3


def test_another_shops_listing_and_offering_are_404(seller_client, product, rival_product):
    rival_offering = Offering.objects.get(product=rival_product)
    own_offering = Offering.objects.get(product=product)
    assert seller_client.get(_url(rival_product)).status_code == 404
    assert seller_client.put(_url(rival_product), RING_GRID, format="json").status_code == 404
    response = seller_client.patch(
        _url(rival_product, f"offerings/{rival_offering.pk}"), {"quantity": 0}, format="json"
    )
    assert response.status_code == 404 and error_of(response)["code"] == "product_not_found"
    # An offering of another listing through one's own listing's URL.
    response = seller_client.patch(_url(product, f"offerings/{rival_offering.pk}"), {"quantity": 0}, format="json")
    assert response.status_code == 404 and error_of(response)["code"] == "offering_not_found"
    response = seller_client.put(_url(rival_product, "personalization"), {"personalization": "none"}, format="json")
    assert response.status_code == 404
    rival_offering.refresh_from_db()
    own_offering.refresh_from_db()
    assert rival_offering.quantity == 1 and own_offering.quantity == 1
    assert not Variation.objects.filter(product=rival_product).exists()


def test_buyers_and_anonymous_cannot_edit_offerings(api_client, buyer_client, product):
    assert api_client.get(_url(product)).status_code == 401
    assert buyer_client.put(_url(product), RING_GRID, format="json").status_code == 403
    assert not Variation.objects.exists()
