"""Listing photos on the buyer site: the WebP twin is offered to browsers that accept it."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import ProductImage
from catalog.services import listings
from catalog.templatetags.shop_tags import product_image

pytestmark = pytest.mark.django_db


def _jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (900, 700), (180, 90, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile("mug.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_uploaded_photo_renders_as_picture_with_webp_source(product, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    listings.add_product_image(product=product, upload=_jpeg(), alt_text="Blue mug")
    image = ProductImage.objects.get(product=product)

    html = product_image(product, "card", image)

    assert html.startswith("<picture><source srcset=") and 'type="image/webp"' in html
    assert ".webp" in html and 'alt="Blue mug"' in html and "<img src=" in html


def test_photo_without_webp_twin_is_a_plain_img(product, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = ProductImage.objects.create(
        product=product, image="demo/products/mug-blue.jpg", alt_text="Mug", width=640, height=640
    )

    html = product_image(product, "hero", image)

    assert html.startswith("<img ") and "webp" not in html
