"""A stock move that leaves a listing in stock does not rewrite its search_listing row (search migration 0015);
one that empties or refills it, and every other listed change, still does."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from catalog.models import Offering, Product
from catalog.stock import decrement_offerings, restock_offerings
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def _row_version(product_id: int):
    """The physical address of the listing's search row: any write of the row moves it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text, shop_sales_count FROM search_listing WHERE product_id = %s", [product_id])
        row = cursor.fetchone()
    return row


def _offering(product: Product) -> Offering:
    return Offering.objects.get(product=product)


def test_a_sale_that_leaves_the_listing_in_stock_leaves_its_search_row_alone():
    product = ProductFactory(quantity=5, price=Decimal("12.00"))
    before = _row_version(product.pk)
    assert before is not None

    assert decrement_offerings(quantities={_offering(product).pk: 2}) == []

    assert Product.objects.get(pk=product.pk).quantity == 3
    assert _row_version(product.pk) == before


def test_selling_the_last_unit_takes_the_listing_out_of_search_and_a_restock_brings_it_back():
    product = ProductFactory(quantity=2)
    offering = _offering(product)

    decrement_offerings(quantities={offering.pk: 2})
    assert _row_version(product.pk) is None

    restock_offerings(quantities={offering.pk: 1})
    assert _row_version(product.pk) is not None


def test_other_listed_changes_and_touches_still_resync_the_row():
    shop = ShopFactory(sales_count=7)
    product = ProductFactory(shop=shop, quantity=5)
    before = _row_version(product.pk)

    Product.objects.filter(pk=product.pk).update(title=F("title"))  # how the variation triggers ask for a resync
    touched = _row_version(product.pk)
    assert touched != before

    Product.objects.filter(pk=product.pk).update(quantity=4, title="Renamed mug")  # a stock move with an edit
    assert _row_version(product.pk) != touched
