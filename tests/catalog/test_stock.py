"""catalog.stock per offering: the conditional decrement, restock and the listing totals moved with them."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from cart.inventory import fetch_inventories
from catalog import stock
from catalog.models import Offering, Product
from tests.catalog.factories import ProductFactory, add_variations, set_offering_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring():
    product = ProductFactory(price=Decimal("40.00"))
    sizes = add_variations(product, {"Size": ["6", "7", "8"]}, quantity=2)
    set_offering_stock(sizes[("6",)], price="35.00")
    set_offering_stock(sizes[("8",)], price="45.00")
    return product, sizes


def _totals(product):
    return tuple(Product.objects.filter(pk=product.pk).values_list("price", "quantity").get())


def test_decrement_takes_units_and_moves_the_listing_totals_in_one_statement(ring, django_assert_num_queries):
    product, sizes = ring
    assert _totals(product) == (Decimal("35.00"), 6)
    with django_assert_num_queries(1):
        short = stock.decrement_offerings(quantities={sizes[("6",)].pk: 2, sizes[("7",)].pk: 1})
    assert short == []
    assert Offering.objects.get(pk=sizes[("6",)].pk).quantity == 0
    # The cheapest size sold out: "from" is now the cheapest one still in stock.
    assert _totals(product) == (Decimal("40.00"), 3)


def test_a_short_offering_is_returned_and_nothing_is_taken_from_it(ring):
    product, sizes = ring
    short = stock.decrement_offerings(quantities={sizes[("6",)].pk: 3, sizes[("8",)].pk: 1})
    assert short == [sizes[("6",)].pk]
    assert Offering.objects.get(pk=sizes[("6",)].pk).quantity == 2
    assert Offering.objects.get(pk=sizes[("8",)].pk).quantity == 1  # the caller rolls back
    assert _totals(product) == (Decimal("35.00"), 5)


def test_restock_gives_units_back_and_the_totals_follow(ring):
    product, sizes = ring
    stock.decrement_offerings(quantities={sizes[("6",)].pk: 2})
    stock.restock_offerings(quantities={sizes[("6",)].pk: 2, 10**12: 1})  # a deleted offering is skipped
    assert Offering.objects.get(pk=sizes[("6",)].pk).quantity == 2
    assert _totals(product) == (Decimal("35.00"), 6)


def test_a_switched_off_offering_counts_in_no_total(ring):
    product, sizes = ring
    set_offering_stock(sizes[("6",)], is_enabled=False)
    assert _totals(product) == (Decimal("40.00"), 4)


def test_the_constraints_stand_behind_the_helpers(ring):
    _, sizes = ring
    with pytest.raises(IntegrityError), transaction.atomic():
        Offering.objects.filter(pk=sizes[("7",)].pk).update(quantity=-1)


def test_a_seller_edit_of_a_plain_listing_reaches_its_offering():
    from catalog.services.listings import update_product

    mug = ProductFactory(price=Decimal("24.00"), quantity=3)
    update_product(product=mug, price=Decimal("26.50"), quantity=7)
    offering = Offering.objects.get(product=mug)
    assert (offering.price, offering.quantity) == (Decimal("26.50"), 7)
    assert _totals(mug) == (Decimal("26.50"), 7)


def test_the_inventory_reads_each_offering_and_its_label_agrees_with_the_model(ring):
    product, sizes = ring
    two = ProductFactory()
    combos = add_variations(two, {"Size": ["7"], "Metal": ["Gold"]})
    inventory = fetch_inventories([product.pk, two.pk])
    assert inventory[product.pk].quantity == 6
    seven = inventory[product.pk].get_offering(sizes[("7",)].pk)
    assert (seven.quantity, seven.price, seven.is_enabled) == (2, Decimal("40.00"), True)
    for offering in Offering.objects.filter(product__in=[product, two]).select_related(
        "option1__variation", "option2__variation"
    ):
        assert inventory[offering.product_id].get_offering(offering.pk).label == offering.options_label
    assert inventory[two.pk].get_offering(combos[("7", "Gold")].pk).label == "Size: 7, Metal: Gold"


def test_lock_products_finds_the_rows_of_a_query_of_ids_and_locks_them_with_their_shops(django_assert_num_queries):
    from django.db.models.expressions import RawSQL

    first, second, third = (ProductFactory() for _ in range(3))
    query = RawSQL(f"SELECT id FROM {Product._meta.db_table} WHERE id = ANY(%s::bigint[])", [[first.pk, third.pk]])
    with transaction.atomic(), django_assert_num_queries(1):  # found and locked in one statement, shops with them
        locked = stock.lock_products(product_ids=query)
        assert sorted(locked) == sorted([first.pk, third.pk])
        assert locked[third.pk].shop.name == third.shop.name
    by_queryset = stock.lock_products(product_ids=Product.objects.filter(pk=second.pk).values("pk"))
    assert list(by_queryset) == [second.pk]


def _lock_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("found", [True, False], ids=["rows", "no rows"])
def test_lock_products_sets_the_lock_timeout_in_its_locking_statement(found, django_assert_num_queries):
    from django.db.models.expressions import RawSQL

    product = ProductFactory()
    ids = [product.pk] if found else [-1]
    query = RawSQL(f"SELECT id FROM {Product._meta.db_table} WHERE id = ANY(%s::bigint[])", [ids])
    with transaction.atomic():
        with django_assert_num_queries(1):  # the timeout set by the locking statement, not one of its own
            locked = stock.lock_products(product_ids=query, lock_timeout_ms=1234)
        assert list(locked) == ([product.pk] if found else [])
        assert _lock_timeout() == "1234ms"
    with transaction.atomic():
        assert list(stock.lock_products(product_ids=ids, lock_timeout_ms=2345)) == ([product.pk] if found else [])
        assert _lock_timeout() == "2345ms"


def test_a_locking_statement_gives_up_at_the_lock_timeout_it_sets(transactional_db):
    """Another connection holds the listing's lock: the statement's own timeout ends its wait."""
    import threading

    from django.db import OperationalError, connections

    product = ProductFactory()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            stock.lock_products(product_ids=[product.pk])
            held.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            stock.lock_products(product_ids=[product.pk], lock_timeout_ms=50)
    finally:
        release.set()
        holder.join()


def _listing_row_writes() -> tuple[int, int]:
    """This transaction's updates of listing rows so far, and how many of them were HOT (no index written)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Product._meta.db_table, Product._meta.db_table],
        )
        return cursor.fetchone()


def test_a_sale_that_leaves_the_listing_in_stock_writes_none_of_its_indexes():
    product = ProductFactory(quantity=5)
    offering = Offering.objects.get(product=product)
    updated, hot = _listing_row_writes()

    assert stock.decrement_offerings(quantities={offering.pk: 2}) == []
    assert _listing_row_writes() == (updated + 1, hot + 1)  # its totals rewritten in place (HOT)
    assert Product.objects.filter(pk=product.pk, quantity=3, in_stock=True).exists()

    assert stock.decrement_offerings(quantities={offering.pk: 3}) == []  # the last units: it leaves the listed indexes
    assert _listing_row_writes() == (updated + 2, hot + 1)
    assert Product.objects.filter(pk=product.pk, quantity=0, in_stock=False).exists()
    assert not Product.objects.purchasable().filter(pk=product.pk).exists()
