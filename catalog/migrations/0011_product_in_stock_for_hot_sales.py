"""A sale that leaves a listing in stock updates the listing's row in place: no index of it is written.

Every sale rewrites its listing's totals (``price``, ``quantity``: catalog.stock), and PostgreSQL updates a row in
place (HOT, no index entry written) only when no indexed column changes; the columns of an index's condition
count. Four listed-listing indexes had ``quantity > 0`` in their condition and ``idx_products_low_quantity`` indexed
the quantity, so each sale wrote every index of the listing: twelve B-trees and both GIN indexes (the text
vector's, one entry a word). The condition now reads ``in_stock``, a stored column PostgreSQL computes as
``quantity > 0`` (it changes only when the last unit goes or the first comes back); the low-stock index goes (the
sellers' digest reads one shop's listings, which the shop's index finds). Adding the column rewrites the table.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0010_product_without_duplicate_indexes"),
        ("shops", "0006_shop_country"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="product",
            name="idx_products_low_quantity",
        ),
        migrations.RemoveIndex(
            model_name="product",
            name="product_listed_category_idx",
        ),
        migrations.RemoveIndex(
            model_name="product",
            name="product_listed_loved_idx",
        ),
        migrations.RemoveIndex(
            model_name="product",
            name="product_listed_price_idx",
        ),
        migrations.RemoveIndex(
            model_name="product",
            name="product_listed_newest_idx",
        ),
        migrations.AddField(
            model_name="product",
            name="in_stock",
            field=models.GeneratedField(
                db_persist=True, expression=models.Q(("quantity__gt", 0)), output_field=models.BooleanField()
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("in_stock", True), ("is_active", True), ("reserved_for__isnull", True)),
                fields=["category", "shop"],
                name="product_listed_category_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("in_stock", True), ("is_active", True), ("reserved_for__isnull", True)),
                fields=["category", "price", "id"],
                name="product_listed_price_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("in_stock", True), ("is_active", True), ("reserved_for__isnull", True)),
                fields=["category", "-created_at", "-id"],
                name="product_listed_newest_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                models.OrderBy(models.F("favorite_count"), descending=True),
                models.OrderBy(models.F("view_count"), descending=True),
                models.OrderBy(models.F("created_at"), descending=True),
                condition=models.Q(("in_stock", True), ("is_active", True), ("reserved_for__isnull", True)),
                name="product_listed_loved_idx",
            ),
        ),
    ]
