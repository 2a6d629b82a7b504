import django.db.models.deletion
from django.db import migrations, models


def point_remaining_lines_at_offerings(apps, schema_editor):
    """Lines written between 0003 and this migration by code that did not name an offering get the listing's."""
    line = apps.get_model("cart", "CartItem")._meta.db_table
    offering = apps.get_model("catalog", "Offering")._meta.db_table
    schema_editor.execute(
        f"UPDATE {line} AS line SET offering_id = o.id FROM {offering} AS o "
        "WHERE line.offering_id IS NULL AND o.product_id = line.product_id AND o.option1_id IS NULL"
    )
    schema_editor.execute(f"DELETE FROM {line} WHERE offering_id IS NULL")


class Migration(migrations.Migration):
    dependencies = [
        ("cart", "0003_cart_line_offering"),
        ("catalog", "0006_variations_offerings"),
    ]

    operations = [
        migrations.RunPython(point_remaining_lines_at_offerings, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="cartitem",
            name="offering",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="cart_items", to="catalog.offering"
            ),
        ),
        migrations.RemoveConstraint(model_name="cartitem", name="cart_item_unique_user_product"),
        migrations.AddConstraint(
            model_name="cartitem",
            constraint=models.UniqueConstraint(
                fields=("user", "offering", "personalization"), name="cart_item_unique_user_offering_text"
            ),
        ),
    ]
