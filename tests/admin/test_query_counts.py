"""Admin pages of a seller do not issue a query per row."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.services.listings import add_product_image
from etsy import near_cache
from tests.admin.images import png_bytes
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def _warm(client, url):
    """Warm the session and content-type caches, and let this process keep the seller's account."""
    _count(client, url)  # loads the account and creates its marker in Redis
    assert near_cache.sync()
    _count(client, url)  # loads it again and keeps it


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["catalog_product", "orders_order", "orders_review"])
def test_changelist_queries_do_not_grow_with_rows(seller_a, category, name):
    url = reverse(f"admin:{name}_changelist")
    _warm(seller_a.client, url)
    before = _count(seller_a.client, url)
    for _ in range(10):
        order = OrderFactory(shop=seller_a.shop)
        product = ProductFactory(shop=seller_a.shop, category=category)
        add_product_image(product=product, upload=io.BytesIO(png_bytes()))
        OrderItemFactory(order=order, product=product)
        ReviewFactory(order=OrderFactory(shop=seller_a.shop, status="delivered"))
    assert _count(seller_a.client, url) == before


def test_admin_index_with_sales_figures_is_a_fixed_number_of_queries(seller_a, category):
    url = reverse("admin:index")
    _warm(seller_a.client, url)
    before = _count(seller_a.client, url)
    for _ in range(10):
        ProductFactory(shop=seller_a.shop, category=category, view_count=3)
        OrderFactory(shop=seller_a.shop)
    assert _count(seller_a.client, url) == before
