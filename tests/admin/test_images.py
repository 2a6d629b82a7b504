"""Listing pictures uploaded through the admin: real images stored resized with WebP twins; hostile files refused."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog.models import Product, ProductImage
from etsy import images
from tests.admin.images import decompression_bomb_png, jpeg_bytes, png_bytes, png_header_then_html, svg_with_script

pytestmark = pytest.mark.django_db


def _add_listing(seller, category, upload, title="Blue bowl"):
    return seller.client.post(
        reverse("admin:catalog_product_add"),
        {
            "shop": seller.shop.pk,
            "title": title,
            "description": "Wheel-thrown.",
            "price": "32.50",
            "quantity": "2",
            "category": category.pk,
            "tags": "bowl, Stoneware ,bowl",
            "is_active": "on",
            "images-TOTAL_FORMS": "1",
            "images-INITIAL_FORMS": "0",
            "images-0-image": upload,
            "images-0-alt_text": "A blue bowl",
            "images-0-position": "0",
            "_save": "Save",
        },
    )


def test_seller_creates_listing_with_image_and_it_renders(seller_a, category):
    response = _add_listing(seller_a, category, SimpleUploadedFile("My Photo.JPG", jpeg_bytes((2400, 1800))))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    product = Product.objects.get(title="Blue bowl")
    assert product.shop == seller_a.shop and product.tags == ["bowl", "stoneware"]
    picture = product.images.get()
    assert "My Photo" not in picture.image.name  # server-chosen name
    assert max(picture.width, picture.height) == images.LISTING_SIDE
    with default_storage.open(picture.thumbnail.name) as fh:
        assert max(Image.open(fh).size) == images.THUMBNAIL_SIDE
    for name in (images.webp_name(picture.image.name), images.webp_name(picture.thumbnail.name)):
        with default_storage.open(name) as fh:
            assert Image.open(fh).format == "WEBP"
    page = seller_a.client.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()
    assert f'srcset="{default_storage.url(images.webp_name(picture.thumbnail.name))}" type="image/webp"' in page
    assert default_storage.url(picture.thumbnail.name) in page


@pytest.mark.parametrize(
    "name,payload",
    [
        ("notes.jpg", b"This is a text file pretending to be a photo.\n" * 20),
        ("trick.png", png_header_then_html()),
        ("drawing.svg", svg_with_script()),
        ("drawing.jpg", svg_with_script()),
        ("bomb.png", decompression_bomb_png()),
    ],
)
def test_hostile_uploads_are_rejected_and_nothing_is_saved(seller_a, category, name, payload):
    response = _add_listing(seller_a, category, SimpleUploadedFile(name, payload), title="Hostile")
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert errors and errors[0].get("image")
    assert not Product.objects.filter(title="Hostile").exists()
    assert not ProductImage.objects.exists()


def test_valid_png_with_trailing_html_is_reencoded_without_it(seller_a, category):
    payload = png_bytes((120, 90)) + b"<html><script>alert(1)</script></html>"
    response = _add_listing(seller_a, category, SimpleUploadedFile("x.png", payload), title="Polyglot")
    assert response.status_code == 302
    picture = Product.objects.get(title="Polyglot").images.get()
    with default_storage.open(picture.image.name) as fh:
        assert b"<script>" not in fh.read()


def test_images_keep_their_order_and_can_be_reordered_inline(seller_a, category):
    from catalog.services.listings import add_product_image

    p = seller_a.product
    first = add_product_image(product=p, upload=io.BytesIO(png_bytes()), alt_text="first")
    second = add_product_image(product=p, upload=io.BytesIO(jpeg_bytes()), alt_text="second")
    assert (first.position, second.position) == (0, 1)
    response = seller_a.client.post(
        reverse("admin:catalog_product_change", args=[p.pk]),
        {
            "shop": seller_a.shop.pk,
            "title": p.title,
            "price": "24.00",
            "quantity": "1",
            "category": category.pk,
            "tags": "mug",
            "is_active": "on",
            "images-TOTAL_FORMS": "2",
            "images-INITIAL_FORMS": "2",
            "images-0-id": first.pk,
            "images-0-product": p.pk,
            "images-0-alt_text": "first",
            "images-0-position": "1",
            "images-1-id": second.pk,
            "images-1-product": p.pk,
            "images-1-alt_text": "second",
            "images-1-position": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert [img.alt_text for img in p.images.all()] == ["second", "first"]


@pytest.mark.parametrize(
    "payload,expected",
    [
        (png_bytes(), "PNG"),
        (jpeg_bytes(), "JPEG"),
        (b"GIF89a" + b"\x00" * 10, "GIF"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"<svg", None),
        (b"%PDF-1.7", None),
    ],
)
def test_sniff_format_reads_magic_bytes(payload, expected):
    assert images.sniff_format(payload[:16]) == expected


def test_process_upload_refuses_oversized_files(monkeypatch):
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(images.InvalidImage, match="larger"):
        images.process_upload(io.BytesIO(jpeg_bytes()))


def test_process_upload_refuses_tiny_pictures():
    with pytest.raises(images.InvalidImage, match="at least"):
        images.process_upload(io.BytesIO(png_bytes((4, 4))))


def test_transparent_png_stays_png_and_animated_gif_keeps_first_frame():
    rgba = images.process_upload(io.BytesIO(png_bytes((50, 50), (1, 2, 3, 0), mode="RGBA")))
    assert rgba.name.endswith(".png")
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    gif = images.process_upload(io.BytesIO(out.getvalue()))
    assert gif.name.endswith(".jpg")
    assert Image.open(io.BytesIO(gif.content)).getpixel((20, 20))[0] > 200


def test_pictures_over_our_pixel_cap_are_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 5000)
    with pytest.raises(images.InvalidImage, match="too many pixels"):
        images.process_upload(io.BytesIO(png_bytes((100, 100))))


def test_bomb_is_refused_with_the_pixel_message():
    with pytest.raises(images.InvalidImage, match="too many pixels"):
        images.process_upload(io.BytesIO(decompression_bomb_png()))


def test_deleting_an_image_inline_removes_row_and_files_after_commit(
    seller_a, category, django_capture_on_commit_callbacks
):
    from catalog.services.listings import add_product_image

    p = seller_a.product
    picture = add_product_image(product=p, upload=io.BytesIO(jpeg_bytes()))
    names = [picture.image.name, picture.thumbnail.name, images.webp_name(picture.image.name)]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = seller_a.client.post(
            reverse("admin:catalog_product_change", args=[p.pk]),
            {
                "shop": seller_a.shop.pk,
                "title": p.title,
                "price": "24.00",
                "quantity": "1",
                "category": category.pk,
                "tags": "mug",
                "is_active": "on",
                "images-TOTAL_FORMS": "1",
                "images-INITIAL_FORMS": "1",
                "images-0-id": picture.pk,
                "images-0-product": p.pk,
                "images-0-position": "0",
                "images-0-DELETE": "on",
                "_save": "Save",
            },
        )
        assert response.status_code == 302
        assert all(default_storage.exists(n) for n in names)  # still there until commit
    for callback in callbacks:
        callback()
    assert not ProductImage.objects.filter(pk=picture.pk).exists()
    assert not any(default_storage.exists(n) for n in names)


def test_truncated_jpeg_is_refused():
    data = jpeg_bytes((2000, 1500))
    with pytest.raises(images.InvalidImage, match="damaged"):
        images.process_upload(io.BytesIO(data[: len(data) // 2]))
