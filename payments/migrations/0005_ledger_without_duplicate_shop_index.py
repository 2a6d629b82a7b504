"""Drop the ledger's single-column index on shop: ``ledger_shop_idx`` (shop, created_at) leads with it.

Every paid order appends two entries (sale, fee), each written to every index of the ledger. The foreign-key
constraint is left as it is (no re-validation of the ledger).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_sellers_see_their_ledger"),
        ("shops", "0006_shop_country"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="shop",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="shops.shop",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS payments_ledgerentry_shop_id_d7add6ac",
                    reverse_sql="CREATE INDEX payments_ledgerentry_shop_id_d7add6ac ON payments_ledgerentry (shop_id)",
                )
            ],
        )
    ]
