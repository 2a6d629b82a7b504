"""No N+1: the number of queries of list endpoints does not grow with the number of rows."""

from decimal import Decimal

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ProductImage
from etsy import near_cache
from orders.models import Order
from search.backends.postgres import refresh_vocabulary
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def _queries(client, path, params=None) -> int:
    caches["default"].clear()  # count the uncached path every time
    near_cache.clear()  # and this process's copies now (Redis's messages would drop them a moment later)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def _listing(shop, category, n_images=2, **kwargs):
    product = ProductFactory(shop=shop, category=category, **kwargs)
    for position in range(n_images):
        ProductImage.objects.create(
            product=product, image=f"products/x{product.pk}-{position}.jpg", position=position, width=10, height=10
        )
    return product


def _search_queries(client) -> int:
    _queries(client, "/api/v1/search", {"q": "wallet"})  # loads the spelling vocabulary once per refresh
    return _queries(client, "/api/v1/search", {"q": "wallet"})


def test_product_list_and_search_do_not_grow_with_rows(api_client, shop, category):
    for i in range(3):
        _listing(shop, category, title=f"Blue wallet {i}")
    refresh_vocabulary()
    few = (_queries(api_client, "/api/v1/products"), _search_queries(api_client))
    for i in range(8):
        _listing(ShopFactory(), category, title=f"Leather wallet {i}")
    refresh_vocabulary()
    many = (_queries(api_client, "/api/v1/products"), _search_queries(api_client))
    assert many == few


def test_seller_lists_do_not_grow_with_rows(seller_client, shop, category):
    def add_rows():
        _listing(shop, category)
        OrderItemFactory(order=OrderFactory(shop=shop, status=Order.Status.PAID))

    add_rows()
    few = (_queries(seller_client, "/api/v1/seller/products"), _queries(seller_client, "/api/v1/seller/orders"))
    for _ in range(6):
        add_rows()
    many = (_queries(seller_client, "/api/v1/seller/products"), _queries(seller_client, "/api/v1/seller/orders"))
    assert many == few


def test_buyer_orders_and_favorites_do_not_grow_with_rows(buyer_client, buyer, category):
    def add_rows():
        product = _listing(ShopFactory(), category, price=Decimal("5.00"))
        OrderItemFactory(order=OrderFactory(buyer=buyer), product=product)
        buyer_client.post("/api/v1/favorites", {"kind": "product", "id": product.pk}, format="json")

    add_rows()
    few = (_queries(buyer_client, "/api/v1/orders"), _queries(buyer_client, "/api/v1/favorites"))
    for _ in range(5):
        add_rows()
    many = (_queries(buyer_client, "/api/v1/orders"), _queries(buyer_client, "/api/v1/favorites"))
    assert many == few
