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
