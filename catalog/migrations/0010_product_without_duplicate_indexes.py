"""Drop the listings' single-column indexes on category and created_at: another index serves each.

``product_category_popular_idx`` leads with the category (the foreign key's check when a category is deleted
included) and ``product_created_desc_idx`` is the same column, newest first (a B-tree reads both ways). A sale
rewrites its listing's totals, and that row update writes every index of the listing. The foreign-key constraint
is left as it is (no re-validation).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_product_listed_newest_idx")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="product",
                    name="category",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="products",
                        to="catalog.category",
                    ),
                ),
                migrations.AlterField(
                    model_name="product",
                    name="created_at",
                    field=models.DateTimeField(auto_now_add=True),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS catalog_product_category_id_35bf920b",
                    reverse_sql="CREATE INDEX catalog_product_category_id_35bf920b ON catalog_product (category_id)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS catalog_product_created_at_ea90ae72",
                    reverse_sql="CREATE INDEX catalog_product_created_at_ea90ae72 ON catalog_product (created_at)",
                ),
            ],
        )
    ]
