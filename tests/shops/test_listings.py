"""Listing services: validation, bulk changes scoped to a shop and announced after commit."""

import io

import pytest
from PIL import Image

from catalog.models import Product
from catalog.services import listings
from catalog.signals import products_changed
from tests.catalog.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed():
    received = []
    handler = lambda sender, **kw: received.append((sorted(kw["product_ids"]), kw["reason"]))  # noqa: E731
    products_changed.connect(handler)
    yield received
    products_changed.disconnect(handler)


def test_create_product_normalizes_and_validates(shop, category):
    p = listings.create_product(
        shop=shop, title="  Oak spoon ", price="12.50", category=category, tags=["Oak", "oak ", "Spoon"]
    )
    assert (p.title, p.slug, p.tags) == ("Oak spoon", "oak-spoon", ["oak", "spoon"])
    with pytest.raises(listings.InvalidListing):
        listings.create_product(shop=shop, title=" ", price="1", category=category)
    with pytest.raises(listings.InvalidListing):
        listings.create_product(shop=shop, title="x", price="-1", category=category)
    with pytest.raises(listings.InvalidListing):
        listings.create_product(shop=shop, title="x", price="1", category=category, tags=[f"t{i}" for i in range(14)])


def test_update_and_deactivate(product):
    listings.update_product(product=product, title="Renamed mug", quantity=4)
    product.refresh_from_db()
    assert (product.title, product.slug, product.quantity) == ("Renamed mug", "renamed-mug", 4)
    with pytest.raises(TypeError):
        listings.update_product(product=product, shop_id=99)
    listings.deactivate_product(product=product)
    product.refresh_from_db()
    assert product.is_active is False


@pytest.mark.parametrize(
    "call,check",
    [
        (lambda shop, ids: listings.mark_sold_out(shop=shop, product_ids=ids), lambda p: p.quantity == 0),
        (lambda shop, ids: listings.set_active(shop=shop, product_ids=ids, is_active=False), lambda p: not p.is_active),
    ],
)
def test_bulk_changes_touch_only_the_shops_rows_and_announce_after_commit(
    shop, product, changed, call, check, django_capture_on_commit_callbacks
):
    foreign = ProductFactory(quantity=5)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert call(shop, [product.pk, foreign.pk]) == 1
    assert changed == []
    for cb in callbacks:
        cb()
    assert changed and changed[0][0] == [product.pk]
    product.refresh_from_db()
    foreign.refresh_from_db()
    assert check(product) and foreign.quantity == 5 and foreign.is_active


def test_set_category_and_rollback_announces_nothing(shop, product, changed, django_capture_on_commit_callbacks):
    target = CategoryFactory()
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                listings.set_category(shop=shop, product_ids=[product.pk], category=target)
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    assert changed == []
    assert Product.objects.get(pk=product.pk).category_id != target.pk


def test_add_image_positions_and_reorder(product, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    def png():
        out = io.BytesIO()
        Image.new("RGB", (40, 40), (1, 2, 3)).save(out, "PNG")
        out.seek(0)
        return out

    a = listings.add_product_image(product=product, upload=png())
    b = listings.add_product_image(product=product, upload=png())
    assert (a.position, b.position) == (0, 1)
    listings.reorder_images(product=product, image_ids=[b.pk, a.pk])
    assert list(product.images.values_list("pk", flat=True)) == [b.pk, a.pk]
    with pytest.raises(listings.InvalidListing):
        listings.reorder_images(product=product, image_ids=[a.pk])
