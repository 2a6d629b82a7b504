"""After a write commits, the next page view shows it (event-driven invalidation, not TTLs)."""

from decimal import Decimal

import pytest

from catalog.signals import products_changed
from catalog.models import Product
from shops.signals import shop_changed

pytestmark = pytest.mark.django_db


def _warm(client, *urls):
    for url in urls:
        assert client.get(url).status_code == 200


def test_seller_price_edit_shows_on_product_category_and_shop_pages(client, catalog, django_capture_on_commit_callbacks):
    product = catalog["products"][5]
    urls = [product.get_absolute_url(), "/c/home-living/?sort=price_asc", "/shops/clay-studio/"]
    _warm(client, *urls)
    with django_capture_on_commit_callbacks(execute=True):
        product.price = Decimal("77.77")
        product.save()
    for url in urls:
        assert "$77.77" in client.get(url).content.decode(), url


def test_product_sold_through_a_bulk_update_shows_as_sold(client, catalog, django_capture_on_commit_callbacks):
    product = catalog["products"][7]
    _warm(client, product.get_absolute_url(), "/c/mugs/")
    assert product.title in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.filter(pk=product.pk).update(quantity=0)  # how checkout decrements stock
        products_changed.send(sender=Product, product_ids=[product.pk], reason="stock")
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Sold out" in html and "Add to cart" not in html
    assert product.title not in client.get("/c/mugs/").content.decode()  # listings show in-stock items
    assert product.title not in client.get("/").content.decode()  # trending recomputed


def test_cart_hold_by_another_buyer_shows_at_once(client, catalog, other_buyer, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from tests.cart.factories import CartItemFactory

    product = catalog["products"][8]
    _warm(client, product.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        CartItemFactory(user=other_buyer, product=product, reserved_until=timezone.now() + timezone.timedelta(minutes=15))
    assert "Another buyer has this in their cart" in client.get(product.get_absolute_url()).content.decode()


def test_shop_rating_change_shows_on_product_page(client, catalog, django_capture_on_commit_callbacks):
    from shops.models import Shop

    product = catalog["products"][1]  # Clay Studio, 4.8
    _warm(client, product.get_absolute_url(), "/shops/clay-studio/")
    with django_capture_on_commit_callbacks(execute=True):
        Shop.objects.filter(pk=catalog["shop_a"].pk).update(rating=Decimal("3.1"), review_count=9)
        shop_changed.send(sender=Shop, shop_id=catalog["shop_a"].pk, fields=["rating", "review_count"])
    assert "rated 3.1 out of 5" in client.get(product.get_absolute_url()).content.decode()
    assert "(9 reviews)" in client.get("/shops/clay-studio/").content.decode()


def test_new_category_appears_after_commit(client, catalog, django_capture_on_commit_callbacks):
    from tests.catalog.factories import CategoryFactory

    _warm(client, "/")
    with django_capture_on_commit_callbacks(execute=True):
        CategoryFactory(name="Garden", slug="garden")
    assert client.get("/c/garden/").status_code == 200


def test_rolled_back_write_invalidates_nothing(client, catalog, django_capture_on_commit_callbacks):
    from django.db import transaction

    product = catalog["products"][5]
    _warm(client, product.get_absolute_url())
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                Product.objects.filter(pk=product.pk).update(price=Decimal("1.00"))
                product.refresh_from_db()
                product.save()
                raise RuntimeError("rollback")
        except RuntimeError:
            pass
    assert callbacks == []


def test_cart_badge_follows_cart_changes(client, catalog, buyer, django_capture_on_commit_callbacks):
    client.force_login(buyer)
    assert "data-cart-count>0<" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cart/add/{catalog['products'][0].pk}/")
    assert "data-cart-count>1<" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cart/remove/{catalog['products'][0].pk}/")
    assert "data-cart-count>0<" in client.get("/").content.decode()
