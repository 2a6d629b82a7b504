"""Each catalog rule has one home; every other form of it must agree with that home."""

import itertools

import pytest
from django.db import connection

from catalog.models import LOW_STOCK_THRESHOLD, Product, purchasable_sql
from catalog.selectors import Inventory
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_combination(category):
    """One listing for each combination of listing active, shop open and in stock (plus unique and low stock)."""
    made = {}
    for listing_active, shop_open, quantity in itertools.product([True, False], [True, False], [0, 1, 5]):
        shop = ShopFactory(is_active=shop_open)
        made[(listing_active, shop_open, quantity)] = ProductFactory(
            shop=shop, category=category, is_active=listing_active, quantity=quantity
        )
    return made


@pytest.fixture
def reserved(category, buyer):
    """Active, in-stock listings of an open shop, reserved for one buyer (custom orders): never listed to others."""
    shop = ShopFactory()
    return [ProductFactory(shop=shop, category=category, quantity=q, reserved_for=buyer) for q in (1, 3)]


def _ids_where(sql_condition: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM {Product._meta.db_table} p JOIN shops_shop s ON s.id = p.shop_id WHERE {sql_condition}"
        )
        return {row[0] for row in cursor.fetchall()}


def test_purchasable_queryset_row_property_sql_expression_and_search_table_agree(every_combination):
    expected = {p.pk for (active, open_, qty), p in every_combination.items() if active and open_ and qty > 0}
    assert len(expected) == 2  # the quantities 1 and 5 of the active listing in the open shop

    assert set(Product.objects.purchasable().values_list("pk", flat=True)) == expected
    rows = Product.objects.select_related("shop").filter(pk__in=[p.pk for p in every_combination.values()])
    assert {p.pk for p in rows if p.is_purchasable} == expected
    assert _ids_where(purchasable_sql(product="p", shop="s")) == expected
    # The search trigger keeps search_listing to exactly the purchasable listings.
    with connection.cursor() as cursor:
        cursor.execute("SELECT product_id FROM search_listing WHERE product_id = ANY(%s)", [list(expected | {0})])
        in_search = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM search_listing WHERE product_id = ANY(%s)",
            [[p.pk for p in every_combination.values()]],
        )
        (all_in_search,) = cursor.fetchone()
    assert in_search == expected and all_in_search == len(expected)


def test_listings_reserved_for_a_buyer_are_in_no_public_form_of_the_rules(every_combination, reserved, buyer):
    ids = [p.pk for p in reserved]
    assert not Product.objects.filter(pk__in=ids).purchasable().exists()
    assert not Product.objects.filter(pk__in=ids).listed().exists()
    rows = Product.objects.select_related("shop").filter(pk__in=ids)
    assert not any(p.is_listed or p.is_purchasable for p in rows)
    assert _ids_where(purchasable_sql(product="p", shop="s")) & set(ids) == set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_listing WHERE product_id = ANY(%s)", [ids])
        assert cursor.fetchone() == (0,)
    # Releasing the reservation lists it: the trigger follows reserved_for too.
    Product.objects.filter(pk=ids[0]).update(reserved_for=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT product_id FROM search_listing WHERE product_id = ANY(%s)", [ids])
        assert cursor.fetchall() == [(ids[0],)]


def test_a_reserved_listing_is_visible_to_its_buyer_only(every_combination, reserved, buyer, other_buyer):
    ids = {p.pk for p in reserved}
    listed = set(Product.objects.listed().values_list("pk", flat=True))
    assert set(Product.objects.visible_to(buyer.pk).values_list("pk", flat=True)) == listed | ids
    assert set(Product.objects.visible_to(other_buyer.pk).values_list("pk", flat=True)) == listed
    assert set(Product.objects.visible_to(None).values_list("pk", flat=True)) == listed
    rows = list(Product.objects.select_related("shop").filter(pk__in=ids))
    assert all(p.is_listed_for(buyer.pk) for p in rows)
    assert not any(p.is_listed_for(other_buyer.pk) or p.is_listed_for(None) for p in rows)


def test_listed_keeps_sold_out_pages_reachable(every_combination):
    expected = {p.pk for (active, open_, _), p in every_combination.items() if active and open_}
    assert set(Product.objects.listed().values_list("pk", flat=True)) == expected
    rows = Product.objects.select_related("shop").filter(pk__in=[p.pk for p in every_combination.values()])
    assert {p.pk for p in rows if p.is_listed} == expected


@pytest.mark.parametrize("quantity", range(0, LOW_STOCK_THRESHOLD + 3))
def test_stock_words_are_the_same_for_a_listing_and_its_live_stock(quantity):
    product, inventory = Product(quantity=quantity), Inventory(quantity=quantity)
    assert product.is_unique == inventory.is_unique == (quantity == 1)
    assert product.is_low_stock == inventory.is_low_stock == (0 < quantity <= LOW_STOCK_THRESHOLD)
    assert product.is_sold_out == inventory.is_sold_out == (quantity == 0)


def test_needs_restock_is_low_stock_or_sold_out(every_combination):
    ids = {p.pk for p in every_combination.values()}
    flagged = set(Product.objects.filter(pk__in=ids).needs_restock().values_list("pk", flat=True))
    assert flagged == {p.pk for (_, _, qty), p in every_combination.items() if qty <= LOW_STOCK_THRESHOLD}
