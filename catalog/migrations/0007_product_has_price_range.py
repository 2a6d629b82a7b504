from django.db import migrations, models


def mark_price_ranges(apps, schema_editor):
    """Set the new fact from the offerings already there (after 0006 every listing has one, so none differ)."""
    product = apps.get_model("catalog", "Product")._meta.db_table
    offering = apps.get_model("catalog", "Offering")._meta.db_table
    schema_editor.execute(
        f"UPDATE {product} SET has_price_range = TRUE WHERE id IN ("
        f"SELECT product_id FROM {offering} WHERE is_enabled GROUP BY product_id HAVING MIN(price) <> MAX(price))"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_variations_offerings"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="has_price_range",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_price_ranges, migrations.RunPython.noop, elidable=False),
    ]
