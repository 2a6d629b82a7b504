import datetime

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def _add_business_days(start, days):
    # A frozen copy of orders.delivery.add_business_days: a migration must not change when the app does.
    current = start
    while days > 0:
        current += datetime.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def backfill_estimates(apps, schema_editor):
    """Give every existing order the estimate it would have had: placed + processing + shipping, or shipped + shipping."""
    Order = apps.get_model("orders", "Order")
    batch = []
    rows = Order.objects.filter(estimated_delivery__isnull=True).select_related("shop", "checkout")
    for order in rows.iterator(chunk_size=2000):
        international = order.shop.country.upper() != order.checkout.ship_country.upper()
        carrier = settings.SHIPPING_DAYS_INTERNATIONAL if international else settings.SHIPPING_DAYS_DOMESTIC
        if order.shipped_at is not None:
            order.estimated_delivery = _add_business_days(timezone.localdate(order.shipped_at), carrier)
        else:
            start = timezone.localdate(order.created_at)
            order.estimated_delivery = _add_business_days(start, order.shop.processing_days + carrier)
        batch.append(order)
        if len(batch) >= 2000:
            Order.objects.bulk_update(batch, ["estimated_delivery"])
            batch = []
    if batch:
        Order.objects.bulk_update(batch, ["estimated_delivery"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_order_fees"),
        ("shops", "0006_shop_country"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="estimated_delivery",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(backfill_estimates, migrations.RunPython.noop, elidable=True),
    ]
