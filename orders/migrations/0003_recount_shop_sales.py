"""Recount every shop's sales count as the dashboard counts units sold: units in paid, shipped or
delivered orders (before, pending orders were counted too, and nothing else agreed with it)."""

from django.db import migrations

RECOUNT = """
UPDATE shops_shop s
   SET sales_count = coalesce((
        SELECT sum(i.quantity)
          FROM orders_orderitem i
          JOIN orders_order o ON o.id = i.order_id
         WHERE o.shop_id = s.id AND o.status IN ('paid', 'shipped', 'delivered')
       ), 0)
"""


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_move_outbox_to_etsy"), ("shops", "0001_initial")]

    operations = [migrations.RunSQL(RECOUNT, reverse_sql=migrations.RunSQL.noop)]
