from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from etsy.names import NormalisedNameField, validate_visible_text


class Shop(models.Model):
    """A maker's storefront. One shop per owner."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shop")
    name = models.CharField(max_length=100, unique=True, validators=[validate_visible_text])
    # The name as uniqueness sees it (etsy.names.normalise_name): "Quince\u00a0House" is "Quince House".
    name_key = NormalisedNameField(source="name", unique=True)
    slug = models.SlugField(max_length=110, unique=True)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=100, blank=True)
    # Where the shop ships from (ISO 3166 alpha-2): an order to another country ships internationally.
    country = models.CharField(max_length=2, default="US")
    banner = models.ImageField(upload_to="shops/banners/", blank=True)
    logo = models.ImageField(upload_to="shops/logos/", blank=True)
    # Denormalized from reviews and orders; recomputed by services, read by search ranking.
    rating = models.DecimalField(max_digits=2, decimal_places=1, null=True, blank=True)
    review_count = models.PositiveIntegerField(default=0)
    sales_count = models.PositiveIntegerField(default=0)
    # Shipping policy: first item costs shipping_base, each further item shipping_additional;
    # orders at or above free_shipping_threshold ship free.
    shipping_base = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("4.00"))
    shipping_additional = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("1.00"))
    free_shipping_threshold = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    processing_days = models.PositiveSmallIntegerField(default=3)
    policy_text = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    # The shop's payout account at the payment provider (a Stripe Connect account, acct_...): sellers are
    # paid by transfers to it. Made automatically in development; onboarding via Account Links in production.
    payout_account_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | (Q(rating__gte=1) & Q(rating__lte=5)), name="shop_rating_1_to_5"
            ),
            models.CheckConstraint(condition=Q(shipping_base__gte=0), name="shop_shipping_base_nonnegative"),
            models.CheckConstraint(
                condition=Q(shipping_additional__gte=0), name="shop_shipping_additional_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None and "name" in update_fields:  # the key follows its name
            update_fields = {*update_fields, "name_key"}
        super().save(*args, update_fields=update_fields, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("shops:detail", kwargs={"slug": self.slug})

    def shipping_for(self, *, item_count: int, subtotal: Decimal) -> Decimal:
        """Return the shipping charge for an order of this shop."""
        if item_count <= 0:
            return Decimal("0.00")
        if self.free_shipping_threshold is not None and subtotal >= self.free_shipping_threshold:
            return Decimal("0.00")
        return self.shipping_base + self.shipping_additional * (item_count - 1)


class DigestLog(models.Model):
    """One row per shop and day: claimed before the daily digest goes out, stamped once it went."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="digest_logs")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    new_orders = models.PositiveIntegerField(default=0)
    new_favorites = models.PositiveIntegerField(default=0)
    low_stock = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "shop_id"]
        constraints = [models.UniqueConstraint(fields=["shop", "day"], name="digestlog_one_per_shop_per_day")]

    def __str__(self) -> str:
        return f"digest {self.day} for shop {self.shop_id}"
