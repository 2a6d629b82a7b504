"""The variations migration on real rows: the schema is taken back to before offerings (catalog 0005, cart 0002,
orders 0008) on this test database, then forward again, as a deploy would run it over the existing catalog."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BEFORE = [("catalog", "0005_product_listed_loved_idx"), ("cart", "0002_ended_hold"), ("orders", "0008_order_lifecycle")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_every_listing_gets_one_offering_and_every_line_points_at_it():
    listings = [
        ProductFactory(price=Decimal("24.00"), quantity=1),
        ProductFactory(price=Decimal("7.45"), quantity=12),
        ProductFactory(price=Decimal("0.00"), quantity=0),  # a free, sold-out listing keeps both
        ProductFactory(price=Decimal("1234.56"), quantity=3, is_active=False),
    ]
    cart_lines = [
        CartItemFactory(product=listings[0]),
        CartItemFactory(product=listings[1], quantity=4),
        CartItemFactory(product=listings[3], quantity=2),
    ]
    order = OrderFactory()
    order_lines = [
        OrderItemFactory(order=order, product=listings[1], quantity=2),
        OrderItemFactory(order=order, product=listings[2]),
    ]
    gone = OrderItemFactory(
        order=order, product=None, title_at_purchase="A deleted listing", price_at_purchase=Decimal("5.00")
    )
    expected = {p.pk: (p.price, p.quantity) for p in listings}
    leaves = None
    try:
        _migrate(BEFORE)
        assert not _rows("SELECT 1 FROM information_schema.tables WHERE table_name = 'catalog_offering'")
        leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
        _migrate(leaves)
    finally:
        if leaves is None:  # leave the test database as the other tests expect it, whatever happened
            _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    offerings = _rows(
        "SELECT product_id, price, quantity, sku, is_enabled, option1_id, option2_id FROM catalog_offering "
        "WHERE product_id = ANY(%s) ORDER BY product_id",
        [list(expected)],
    )
    assert len(offerings) == len(expected)  # exactly one each
    for product_id, price, quantity, sku, enabled, option1, option2 in offerings:
        assert (price, quantity) == expected[product_id]
        assert (sku, enabled, option1, option2) == ("", True, None, None)
    by_listing = {row[0]: row for row in _rows("SELECT product_id, id FROM catalog_offering")}
    for line in cart_lines:
        (offering_id,) = _rows("SELECT offering_id FROM cart_cartitem WHERE id = %s", [line.pk])[0]
        assert offering_id == by_listing[line.product_id][1]
    for line in order_lines:
        (offering_id,) = _rows("SELECT offering_id FROM orders_orderitem WHERE id = %s", [line.pk])[0]
        assert offering_id == by_listing[line.product_id][1]
    assert _rows("SELECT offering_id FROM orders_orderitem WHERE id = %s", [gone.pk]) == [(None,)]
    # The listings' own figures are untouched: they already were their one offering's.
    assert {pk: tuple(v) for pk, *v in _rows("SELECT id, price, quantity FROM catalog_product")} == expected
