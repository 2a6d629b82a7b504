"""The move of the outbox from orders to etsy.outbox keeps the rows that were there, ids included."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from etsy.outbox.models import OutboxMessage

BEFORE_THE_MOVE = [("orders", "0001_initial"), ("outbox", None)]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rows_of_the_orders_outbox_survive_the_move_with_their_ids():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        _migrate(BEFORE_THE_MOVE)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO orders_outboxmessage"
                " (id, topic, payload, created_at, dispatched_at, processed_at, attempts)"
                " VALUES (41, 'order.placed', '{\"order_id\": 5}', now(), now(), NULL, 2),"
                " (42, 'order.shipped', '{\"order_id\": 6}', now(), now(), now(), 1)"
            )
    finally:
        _migrate(latest)  # leave the test database as every other test expects it

    waiting, done = OutboxMessage.objects.order_by("id")
    assert (waiting.pk, waiting.topic, waiting.payload, waiting.attempts) == (41, "order.placed", {"order_id": 5}, 2)
    assert waiting.processed_at is None and waiting.failures == 0 and waiting.dead_at is None
    assert (waiting.next_attempt_at - waiting.dispatched_at).total_seconds() == 300  # the lost-task guard
    assert (done.pk, done.next_attempt_at) == (42, None) and done.processed_at is not None
    assert OutboxMessage.objects.create(topic="after.move").pk == 43  # the id sequence continues after them
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('orders_outboxmessage')")
        assert cursor.fetchone() == (None,)
