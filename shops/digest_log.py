"""The record that makes the seller daily digest happen once per shop and day.

Registered from ``ShopsConfig.ready()`` (the shops models module belongs to the schema owner);
the table comes from ``shops/migrations/0002_digestlog.py``.
"""

from django.db import models


class DigestLog(models.Model):
    """One row per shop and day: claimed before the email goes out, stamped once it went."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="digest_logs")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    new_orders = models.PositiveIntegerField(default=0)
    new_favorites = models.PositiveIntegerField(default=0)
    low_stock = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "shops"
        ordering = ["-day", "shop_id"]
        constraints = [models.UniqueConstraint(fields=["shop", "day"], name="digestlog_one_per_shop_per_day")]

    def __str__(self) -> str:
        return f"digest {self.day} for shop {self.shop_id}"
