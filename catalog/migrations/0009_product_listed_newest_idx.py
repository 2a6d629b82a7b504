from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes: on a 1M-listing table the build takes seconds.
    atomic = False

    dependencies = [
        ("catalog", "0008_product_listed_price_idx"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(
                fields=["category", "-created_at", "-id"],
                condition=models.Q(("is_active", True), ("quantity__gt", 0), ("reserved_for__isnull", True)),
                name="product_listed_newest_idx",
            ),
        ),
    ]
