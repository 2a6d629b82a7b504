"""etsy.prepared: the write path's constant statements are prepared once per connection, still counted and
instrumented like every other query; ordinary queries are not prepared."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cart.services import add_item
from catalog.models import Product
from etsy.prepared import prepared_cursor

pytestmark = pytest.mark.django_db

_STATEMENT = "SELECT id, title FROM catalog_product WHERE id = %s"


def _prepared() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return cursor.fetchall()


def test_a_statement_is_prepared_once_and_counted_each_time(product):
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            with prepared_cursor() as cursor:
                cursor.execute(_STATEMENT, [product.pk])
                assert cursor.fetchone() == (product.pk, product.title)
    assert len(queries.captured_queries) == 3
    assert [statement for _name, statement in _prepared()].count(_STATEMENT.replace("%s", "$1")) == 1


def test_ordinary_queries_are_not_prepared(product):
    for _ in range(10):
        Product.objects.filter(pk=product.pk).exists()
    assert not [s for _n, s in _prepared() if "EXISTS" in s.upper() or "LIMIT 1" in s.upper()]


def test_an_add_to_cart_prepares_its_lock_and_its_line(buyer, product):
    add_item(user=buyer, product_id=product.pk)
    statements = [statement for _name, statement in _prepared()]
    assert any("FOR NO KEY UPDATE OF p" in s for s in statements)
    assert any("INSERT INTO cart_cartitem" in s for s in statements)


def test_a_failed_prepared_statement_leaves_the_connection_usable(product):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError):
        with transaction.atomic(), prepared_cursor() as cursor:
            cursor.execute("SELECT id FROM catalog_product WHERE id = %s AND 1 / %s = 1", [product.pk, 0])
    with prepared_cursor() as cursor:
        cursor.execute(_STATEMENT, [product.pk])
        assert cursor.fetchone()[0] == product.pk


def test_a_checkout_prepares_its_lock_timeout_and_its_rows(buyer, product):
    from orders import payments
    from orders.services.checkout import ShippingAddress, place_order

    add_item(user=buyer, product_id=product.pk)
    address = ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534")
    place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key="prepared-1")
    statements = [statement for _name, statement in _prepared()]
    assert any("set_config('lock_timeout'" in s for s in statements)
    assert any("INSERT INTO orders_checkout" in s for s in statements)
    assert any("INSERT INTO outbox_outboxmessage" in s for s in statements)


def test_unnest_rows_refuse_rows_that_differ_in_a_column_they_share():
    from django.utils import timezone

    from etsy.outbox.models import OutboxMessage
    from etsy.prepared import UnnestRows

    rows = UnnestRows(OutboxMessage, varying=("topic", "payload"))
    now = timezone.now()
    same = rows.arrays([{"topic": "a", "payload": "{}"}, {"topic": "b", "payload": "{}"}], now=now)
    assert rows.params(same)[:2] == [["a", "b"], ["{}", "{}"]]  # the varying columns' lists, then shared values
    differing = rows.arrays([{"topic": "a", "payload": "{}", "attempts": 1}, {"topic": "b", "payload": "{}"}], now=now)
    with pytest.raises(ValueError, match="attempts"):
        rows.params(differing)


def _as_django_builds(instance, model, attnames):
    """What ``Model.from_db`` builds from the instance's loaded columns."""
    fields = [f.attname for f in model._meta.concrete_fields]
    values = [getattr(instance, name) for name in attnames]
    if len(attnames) == len(fields):
        return model.from_db("default", None, values)
    return model.from_db("default", list(attnames), values)


def test_instances_built_from_a_row_are_those_djangos_from_db_builds(buyer):
    """etsy.prepared.instances_from_row builds plain models' instances itself: the same __dict__ (state first, the
    columns read, deferred ones absent and read on first use), not adding, of the default database; a model with
    post_init receivers, or a field with a descriptor of its own (a shop's ImageFields), goes through from_db."""
    from django.db.models.signals import post_init

    from etsy.prepared import _fields, _plain_attnames, fetch_instances, select_list
    from orders.models import Checkout, Order, OrderItem
    from shops.models import Shop
    from tests.orders.factories import OrderItemFactory

    item = OrderItemFactory(order__buyer=buyer, order__checkout__buyer=buyer)
    order = item.order
    models = ((Order, "o"), (Checkout, "c", ("total", "ship_name")), (Shop, "s", ("name",)), (OrderItem, "i"))
    sql = f"""SELECT {select_list(models)} FROM orders_order o JOIN orders_checkout c ON c.id = o.checkout_id
              JOIN shops_shop s ON s.id = o.shop_id LEFT JOIN orders_orderitem i ON i.order_id = o.id AND i.id = %s
              WHERE o.id = %s"""
    ((found_order, checkout, shop, found_item),) = fetch_instances(sql, [item.pk, order.pk], models)
    assert all(_plain_attnames(entry) is not None for entry in models)
    assert _plain_attnames(((Shop, "s"),)) is None  # every column: its ImageFields' descriptors
    for instance, entry in zip((found_order, checkout, shop, found_item), models, strict=True):
        names = [f.attname for f in _fields(entry)]
        values = [getattr(instance, name) for name in names]
        django = entry[0].from_db("default", None if len(entry) == 2 else names, values)
        mine = {k: v for k, v in instance.__dict__.items() if k != "_state"}
        theirs = {k: v for k, v in django.__dict__.items() if k != "_state"}
        assert list(mine.items()) == list(theirs.items()), entry
        assert list(instance.__dict__)[0] == "_state" and not instance._state.adding and instance._state.db == "default"
        assert instance.get_deferred_fields() == django.get_deferred_fields()
    assert checkout.get_deferred_fields() and checkout.currency == order.checkout.currency  # read on first use
    assert found_order == order and found_item == item and found_order.total == order.total
    found_order.save(update_fields=["status"])  # an instance Django can write back

    seen = []
    receiver = lambda sender, instance, **kwargs: seen.append(instance)  # noqa: E731
    post_init.connect(receiver, sender=Shop)
    _plain_attnames.cache_clear()
    try:
        ((_, _, shop, _),) = fetch_instances(sql, [item.pk, order.pk], models)
        assert seen == [shop]  # built by Django's from_db, its receivers told
    finally:
        post_init.disconnect(receiver, sender=Shop)
        _plain_attnames.cache_clear()


def test_a_prepared_statement_over_an_array_of_ids_is_planned_once_not_on_every_run(seller):
    """A custom plan counts the array's ids and a generic one guesses ten, so PostgreSQL left to choose
    (plan_cache_mode auto) kept planning such a statement on every run; the connection settles it."""
    from payments.selectors import get_refunded_amounts

    for _ in range(8):
        assert get_refunded_amounts(order_ids=[1, 2, 3]) == {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%SUM(amount)%kind = $2%"],
        )
        assert cursor.fetchall() == [(8, 0)]
