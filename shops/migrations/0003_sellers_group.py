"""Create the "Sellers" group with the admin permissions a shop owner needs.

Permissions are normally created after all migrations (post_migrate); they are created
here first so a fresh database gets a complete group.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SELLER_PERMISSIONS = {
    "shops": ["view_shop", "change_shop"],
    "catalog": [
        "view_category",
        "view_product",
        "add_product",
        "change_product",
        "delete_product",
        "view_productimage",
        "add_productimage",
        "change_productimage",
        "delete_productimage",
    ],
    "orders": ["view_order", "change_order", "view_orderitem", "view_review", "change_review"],
}


def create_sellers_group(apps, schema_editor):
    for app_label in SELLER_PERMISSIONS:
        app_config = apps.get_app_config(app_label)
        previous = getattr(app_config, "models_module", None)  # missing or None on historical app configs
        app_config.models_module = previous or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Sellers")
    for app_label, codenames in SELLER_PERMISSIONS.items():
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


def remove_sellers_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Sellers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shops", "0002_digestlog"),
        ("catalog", "0001_initial"),
        ("orders", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_sellers_group, remove_sellers_group)]
