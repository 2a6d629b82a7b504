"""Drop the orders' single-column indexes on checkout, buyer and shop: a composite index leads with each.

``order_one_per_shop_per_checkout`` (checkout, shop), ``order_buyer_idx`` (buyer, created_at) and ``order_shop_idx``
(shop, created_at) serve every lookup by those columns, the foreign keys' checks when a checkout, user or shop is
deleted included, and a 3-shop checkout wrote each index of its three orders twice (placed, then paid: the status
is indexed, so that update is never HOT). The foreign-key constraints are left as they are (no re-validation).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = [
    ("orders_order_checkout_id_85d473d1", "checkout_id"),
    ("orders_order_buyer_id_26195532", "buyer_id"),
    ("orders_order_shop_id_b562fb3d", "shop_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_cancellation_accepted_on_timeout"),
        ("shops", "0006_shop_country"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="buyer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="checkout",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="orders.checkout",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="shop",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="shops.shop",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}", reverse_sql=f"CREATE INDEX {name} ON orders_order ({column})"
                )
                for name, column in INDEXES
            ],
        )
    ]
