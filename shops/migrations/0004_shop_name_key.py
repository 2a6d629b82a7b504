"""Shop names are unique in their normal form (etsy.names.normalise_name), held in name_key."""

from django.db import migrations, models

import etsy.names


def fill_name_keys(apps, schema_editor):
    """Give every shop its key; a look-alike already registered keeps its name with a key made distinct."""
    Shop = apps.get_model("shops", "Shop")
    seen = set()
    for shop in Shop.objects.order_by("pk").only("pk", "name"):
        key = etsy.names.normalise_name(shop.name)
        if key in seen:
            key = f"{key} #{shop.pk}"
        seen.add(key)
        Shop.objects.filter(pk=shop.pk).update(name_key=key)


class Migration(migrations.Migration):
    dependencies = [("shops", "0003_sellers_group")]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="name_key",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="shop",
            name="name_key",
            field=etsy.names.NormalisedNameField(source="name", unique=True),
        ),
        migrations.AlterField(
            model_name="shop",
            name="name",
            field=models.CharField(max_length=100, unique=True, validators=[etsy.names.validate_visible_text]),
        ),
    ]
