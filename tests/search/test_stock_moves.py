"""A stock move that leaves a listing in stock does not rewrite its search_listing row (search migration 0015);
one that empties or refills it, and every other listed change, still does."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from catalog.models import Offering, Product
from catalog.stock import decrement_offerings, restock_offerings
from tests.catalog.factories import ProductFactory, add_variations, set_offering_stock
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


def _offering_trigger_calls() -> int:
    """How often this transaction has entered the offering update trigger's function (track_functions)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(pg_stat_get_xact_function_calls(to_regproc('search_listing_sync_offering')), 0)"
            " + coalesce(pg_stat_get_xact_function_calls(to_regproc('search_listing_sync_offerings')), 0)"
        )
        return cursor.fetchone()[0]


def _offer_facts(product_id: int):
    with connection.cursor() as cursor:
        cursor.execute("SELECT offer_prices, options FROM search_listing WHERE product_id = %s", [product_id])
        return cursor.fetchone()


def test_only_an_offering_change_that_can_move_offer_facts_runs_the_offering_trigger():
    plain = ProductFactory(quantity=5, price=Decimal("12.00"))
    ring = ProductFactory(quantity=1, price=Decimal("40.00"))
    sizes = add_variations(ring, {"Size": ["6", "7"]}, quantity=2)
    set_offering_stock(sizes[("7",)], price="45.00")
    assert _offer_facts(ring.pk) == ([Decimal("40.00"), Decimal("45.00")], ["size:6", "size:7"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")

    decrement_offerings(quantities={_offering(plain).pk: 1, sizes[("7",)].pk: 1})
    assert _offering_trigger_calls() == 0  # a plain listing's sale, and a size left in stock: nothing to check

    decrement_offerings(quantities={sizes[("7",)].pk: 1})  # its last unit: the size and its price go
    assert _offering_trigger_calls() == 1
    assert _offer_facts(ring.pk) == (None, ["size:6"])

    restock_offerings(quantities={sizes[("7",)].pk: 3})
    assert _offering_trigger_calls() == 2
    assert _offer_facts(ring.pk) == ([Decimal("40.00"), Decimal("45.00")], ["size:6", "size:7"])
