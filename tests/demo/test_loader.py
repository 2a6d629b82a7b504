from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from catalog.models import Category, Favorite, Product, ProductImage
from demo.loader import iter_listings, iter_shops
from orders.models import Order, Review
from shops.models import Shop


def test_listings_are_deterministic_for_a_seed():
    first = [s.title for s in iter_listings(seed=3, products=200, shops=10)]
    again = [s.title for s in iter_listings(seed=3, products=200, shops=10)]
    other = [s.title for s in iter_listings(seed=4, products=200, shops=10)]
    assert first == again
    assert first != other


def test_listings_vary_wording_like_real_sellers():
    specs = list(iter_listings(seed=7, products=3000, shops=40))
    titles = " ".join(s.title.lower() for s in specs)
    for word in (
        "handmade",
        "hand-crafted",
        "artisan",
        "billfold",
        "wallet",
        "925 silver",
        "sterling",
        "vintage",
        "antique",
    ):
        assert word in titles, word
    assert any(s.misspelled for s in specs)
    unique_share = sum(1 for s in specs if s.quantity == 1) / len(specs)
    assert 0.75 < unique_share < 0.9  # mostly one-of-a-kind
    assert all(s.price > 0 for s in specs)


def test_shop_names_are_unique():
    names = [s.name for s in iter_shops(seed=7, shops=300)]
    assert len(names) == len(set(names))


@pytest.mark.django_db
def test_load_demo_catalog_writes_a_browsable_catalog_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo_catalog", products=120, shops=6, seed=11, verbosity=0)

    assert Product.objects.count() == 120
    assert Shop.objects.count() == 6
    roots = Category.objects.filter(parent=None)
    assert roots.exists() and Category.objects.filter(parent__isnull=False).exists()
    child = Category.objects.filter(parent__isnull=False).first()
    assert child.path.startswith(child.parent.path)
    image = ProductImage.objects.first()
    path = Path(tmp_path) / image.image.name
    with Image.open(path) as img:
        assert img.size == (640, 640)
        assert len(img.convert("RGB").resize((32, 32)).getcolors(4096)) > 10  # drawn, not blank
    assert (Path(tmp_path) / Shop.objects.first().logo.name).exists()
    sold = Product.objects.filter(quantity=0)
    assert Order.objects.filter(items__product__in=sold).count() == sold.count()
    assert Review.objects.count() <= Order.objects.count()
    days = {created.date() for created in Order.objects.values_list("created_at", flat=True)}
    assert len(days) > 1  # a history for the sellers' 30-day figures, not one spike today
    assert Favorite.objects.filter(kind="product").exists() and Favorite.objects.filter(kind="shop").exists()

    call_command("load_demo_catalog", products=120, shops=6, seed=11, if_empty=True, verbosity=0)
    assert Product.objects.count() == 120
    assert Shop.objects.count() == 6
