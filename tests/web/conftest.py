import io
from decimal import Decimal
from functools import lru_cache

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import ProductImage
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.shops.factories import ShopFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


PHOTO_SIZE = 320
COLOURS = [(40, 70, 140), (178, 84, 52), (74, 120, 86), (214, 170, 60), (120, 60, 110)]


@lru_cache(maxsize=32)
def _photo(shape: str, color: tuple[int, int, int]) -> bytes:
    """A product photo drawn like the demo catalog's (drawn once per shape and colour in a run)."""
    from demo.images import draw_product

    buf = io.BytesIO()
    picture = draw_product(shape=shape, colour=color, texture="speckled", seed=7)
    picture.resize((PHOTO_SIZE, PHOTO_SIZE), Image.LANCZOS).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def make_image(product, *, color=(40, 70, 140), position=0):
    shape = "mug" if "mug" in product.title.lower() else "frame"
    return ProductImage.objects.create(
        product=product,
        image=SimpleUploadedFile(f"p{product.pk}-{position}.jpg", _photo(shape, color), content_type="image/jpeg"),
        alt_text=f"Photo of {product.title}",
        position=position,
    )


@pytest.fixture
def catalog(db):
    """Two shops, a small category tree, 30 listings with photos (some sold out)."""
    root = CategoryFactory(name="Home & Living", slug="home-living")
    mugs = CategoryFactory(name="Mugs", slug="mugs", parent=root)
    art = CategoryFactory(name="Art", slug="art")
    shop_a = ShopFactory(name="Clay Studio", slug="clay-studio", rating=Decimal("4.8"), sales_count=12)
    shop_b = ShopFactory(name="Paper Birds", slug="paper-birds", rating=Decimal("4.2"))
    products = []
    for i in range(20):
        p = ProductFactory(
            shop=shop_a if i % 2 else shop_b,
            category=mugs,
            title=f"Speckled stoneware mug {i}",
            slug=f"speckled-stoneware-mug-{i}",
            price=Decimal("20.00") + i,
            tags=["mug", "ceramic"],
        )
        make_image(p, color=COLOURS[i % len(COLOURS)])
        products.append(p)
    for i in range(10):
        p = ProductFactory(
            shop=shop_b,
            category=art,
            title=f"Bird print {i}",
            slug=f"bird-print-{i}",
            price=Decimal("40.00") + i,
            tags=["print", "bird"],
            quantity=3,
        )
        make_image(p, color=COLOURS[(i + 2) % len(COLOURS)])
        products.append(p)
    return {"root": root, "mugs": mugs, "art": art, "shop_a": shop_a, "shop_b": shop_b, "products": products}
