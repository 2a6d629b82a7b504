"""A seller's listings through the API: create, edit, delete, upload pictures; never another shop's."""

from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Product, ProductImage
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _png(size=(64, 48)) -> SimpleUploadedFile:
    out = BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, "PNG")
    return SimpleUploadedFile("mug.png", out.getvalue(), content_type="image/png")


@pytest.fixture
def other_shop_product(category):
    return ProductFactory(shop=ShopFactory(name="Rival Goods"), category=category, title="Rival mug")


def test_create_list_edit_delete_own_listing(seller_client, shop, category):
    response = seller_client.post(
        "/api/v1/seller/products",
        {
            "title": "  Speckled bowl ",
            "price": "32.50",
            "quantity": 3,
            "category": category.slug,
            "tags": ["Bowl", "bowl", "ceramic"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    product = Product.objects.get(pk=body["id"])
    assert product.shop == shop and product.title == "Speckled bowl" and product.tags == ["bowl", "ceramic"]
    assert body["price"] == "32.50" and body["is_active"] is True

    listed = seller_client.get("/api/v1/seller/products").json()
    assert [p["id"] for p in listed["results"]] == [product.pk]

    response = seller_client.patch(
        f"/api/v1/seller/products/{product.pk}", {"price": "30.00", "is_active": False}, format="json"
    )
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.price == Decimal("30.00") and product.is_active is False
    # inactive listings stay visible to their seller
    assert seller_client.get(f"/api/v1/seller/products/{product.pk}").status_code == 200

    assert seller_client.delete(f"/api/v1/seller/products/{product.pk}").status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


def test_listing_rules_answer_400(seller_client, category):
    response = seller_client.post(
        "/api/v1/seller/products", {"title": "   ", "price": "5.00", "category": category.slug}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] in ("invalid", "invalid_listing")
    response = seller_client.post(
        "/api/v1/seller/products", {"title": "Cup", "price": "5.00", "category": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "category" in error_of(response)["fields"]
    response = seller_client.post(
        "/api/v1/seller/products",
        {"title": "Cup", "price": "5.00", "category": category.slug, "tags": [f"t{i}" for i in range(20)]},
        format="json",
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_listing"
    assert not Product.objects.exists()


def test_seller_cannot_read_or_change_another_shops_listing(seller_client, other_shop_product):
    pk = other_shop_product.pk
    assert seller_client.get(f"/api/v1/seller/products/{pk}").status_code == 404
    assert seller_client.patch(f"/api/v1/seller/products/{pk}", {"price": "1.00"}, format="json").status_code == 404
    assert seller_client.delete(f"/api/v1/seller/products/{pk}").status_code == 404
    assert (
        seller_client.post(f"/api/v1/seller/products/{pk}/images", {"image": _png()}, format="multipart").status_code
        == 404
    )
    assert seller_client.get("/api/v1/seller/products").json()["count"] == 0
    other_shop_product.refresh_from_db()
    assert other_shop_product.price == Decimal("24.00") and other_shop_product.is_active
    assert not ProductImage.objects.exists()


def test_buyers_and_anonymous_cannot_use_seller_products(api_client, buyer_client, product):
    assert api_client.get("/api/v1/seller/products").status_code == 401
    assert buyer_client.get("/api/v1/seller/products").status_code == 403
    response = buyer_client.patch(f"/api/v1/seller/products/{product.pk}", {"price": "1.00"}, format="json")
    assert response.status_code == 403
    product.refresh_from_db()
    assert product.price == Decimal("24.00")


def test_upload_picture_to_own_listing(seller_client, product):
    response = seller_client.post(
        f"/api/v1/seller/products/{product.pk}/images", {"image": _png(), "alt_text": "Blue mug"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    image = ProductImage.objects.get(product=product)
    assert body["id"] == image.pk and body["alt_text"] == "Blue mug"
    assert body["width"] == 64 and body["height"] == 48
    assert body["url"].startswith("http://testserver/media/") and body["thumbnail_url"]
    assert seller_client.get(f"/api/v1/seller/products/{product.pk}").json()["images"][0]["id"] == image.pk


def test_upload_refuses_files_that_are_not_pictures(seller_client, product):
    fake = SimpleUploadedFile("evil.png", b"<script>alert(1)</script>", content_type="image/png")
    response = seller_client.post(f"/api/v1/seller/products/{product.pk}/images", {"image": fake}, format="multipart")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_image"
    response = seller_client.post(
        f"/api/v1/seller/products/{product.pk}/images", data=b'{"image": "x"}', content_type="application/json"
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert not ProductImage.objects.exists()
