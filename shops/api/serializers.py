"""Shapes of shop data in the API. Validation of shape only; rules live in shops.services."""

from decimal import Decimal

from rest_framework import serializers

from etsy.api.fields import DecimalStringField, StrictJsonSerializer
from shops.models import Shop

_MONEY = {"max_digits": 8, "decimal_places": 2, "min_value": Decimal("0")}


class ShopSerializer(serializers.ModelSerializer):
    logo_url = serializers.SerializerMethodField()
    banner_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The shop's web page.")

    class Meta:
        model = Shop
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "location",
            "logo_url",
            "banner_url",
            "rating",
            "review_count",
            "sales_count",
            "shipping_base",
            "shipping_additional",
            "free_shipping_threshold",
            "processing_days",
            "policy_text",
            "url",
            "created_at",
        ]
        extra_kwargs = {
            "sales_count": {
                "help_text": "Items sold: units in paid, shipped or delivered orders (the seller dashboard's "
                '"units sold"), counted when a payment succeeds and given back when a paid order is cancelled.'
            }
        }

    def _file_url(self, field) -> str | None:
        if not field:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(field.url) if request is not None else field.url

    def get_logo_url(self, shop: Shop) -> str | None:
        return self._file_url(shop.logo)

    def get_banner_url(self, shop: Shop) -> str | None:
        return self._file_url(shop.banner)

    def get_url(self, shop: Shop) -> str:
        request = self.context.get("request")
        url = shop.get_absolute_url()
        return request.build_absolute_uri(url) if request is not None else url


class SellerShopSerializer(ShopSerializer):
    class Meta(ShopSerializer.Meta):
        fields = [*ShopSerializer.Meta.fields, "is_active", "updated_at"]


class ShopWriteSerializer(StrictJsonSerializer):
    """Fields a seller sets when opening or editing a shop."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    location = serializers.CharField(required=False, allow_blank=True, max_length=100)
    shipping_base = DecimalStringField(required=False, **_MONEY)
    shipping_additional = DecimalStringField(required=False, **_MONEY)
    free_shipping_threshold = DecimalStringField(
        required=False, allow_null=True, max_digits=10, decimal_places=2, min_value=Decimal("0")
    )
    processing_days = serializers.IntegerField(required=False, min_value=0, max_value=365)
    policy_text = serializers.CharField(required=False, allow_blank=True, max_length=5000)

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A shop needs a name.")
        return value


class ShopUpdateSerializer(ShopWriteSerializer):
    is_active = serializers.BooleanField(required=False, help_text="False closes the shop to buyers.")
