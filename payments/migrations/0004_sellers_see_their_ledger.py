"""Sellers may view their ledger (the Payments page); mirrors shops.services.SELLER_PERMISSIONS."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    app_config = apps.get_app_config("payments")
    previous = getattr(app_config, "models_module", None)
    app_config.models_module = previous or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Sellers")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="payments", codename="view_ledgerentry"))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    group = apps.get_model("auth", "Group").objects.filter(name="Sellers").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="payments"))


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_ledger_append_only"),
        ("shops", "0003_sellers_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
