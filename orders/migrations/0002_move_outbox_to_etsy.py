"""Move the outbox rows to etsy.outbox (table outbox_outboxmessage), then drop orders' table.

Rows keep their ids (a task already queued names its row by id) and the new id sequence
continues after them. A row handed over but unprocessed gets the 5-minute guard the sweep
would have applied. Reversible: the rows are copied back.
"""

from django.db import migrations

FORWARD = """
INSERT INTO outbox_outboxmessage
    (id, topic, payload, created_at, dispatched_at, processed_at, attempts,
     failures, last_error, next_attempt_at, dead_at)
SELECT id, topic, payload, created_at, dispatched_at, processed_at, attempts,
       0, '', CASE WHEN processed_at IS NULL THEN dispatched_at + interval '5 minutes' END, NULL
FROM orders_outboxmessage;
SELECT setval(pg_get_serial_sequence('outbox_outboxmessage', 'id'), MAX(id)) FROM outbox_outboxmessage
HAVING MAX(id) IS NOT NULL;
"""

BACKWARD = """
INSERT INTO orders_outboxmessage (id, topic, payload, created_at, dispatched_at, processed_at, attempts)
SELECT id, topic, payload, created_at, dispatched_at, processed_at, attempts FROM outbox_outboxmessage;
SELECT setval(pg_get_serial_sequence('orders_outboxmessage', 'id'), MAX(id)) FROM orders_outboxmessage
HAVING MAX(id) IS NOT NULL;
DELETE FROM outbox_outboxmessage;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.DeleteModel(name="OutboxMessage"),
    ]
