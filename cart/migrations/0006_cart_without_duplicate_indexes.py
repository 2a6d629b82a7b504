"""Drop the cart lines' duplicate indexes: the product's foreign-key index repeats ``idx_cart_product``, and
``cart_item_unique_user_offering_text`` leads with the user, so ``idx_cart_user`` and the user's foreign-key index
go. Each add-to-cart wrote all of them. The foreign-key constraints are left as they are (no re-validation).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FOREIGN_KEY_INDEXES = [
    ("cart_cartitem_user_id_292943b8", "user_id"),
    ("cart_cartitem_product_id_b24e265a", "product_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cart", "0005_ended_hold_reason"),
        ("catalog", "0009_product_listed_newest_idx"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="cartitem", name="idx_cart_user"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="cartitem",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="cart_items",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="cartitem",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="cart_items",
                        to="catalog.product",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}", reverse_sql=f"CREATE INDEX {name} ON cart_cartitem ({column})"
                )
                for name, column in FOREIGN_KEY_INDEXES
            ],
        ),
    ]
