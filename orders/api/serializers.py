"""Shapes of checkout, orders and reviews in the API. Validation of shape only; rules live in services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.serializers import ShopSummarySerializer
from etsy.api.fields import DecimalStringField, QuerySerializer, StrictJsonSerializer
from orders.models import CancellationRequest, Checkout, Order, OrderItem, Review

_MONEY = {"max_digits": 12, "decimal_places": 2}


class AddressSerializer(StrictJsonSerializer):
    name = serializers.CharField(max_length=120)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20)
    country = serializers.CharField(max_length=2, required=False, default="US", help_text="ISO 3166 alpha-2.")


class CheckoutRequestSerializer(StrictJsonSerializer):
    address = AddressSerializer(required=False, help_text="The shipping address typed in; or give `address_id`.")
    address_id = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Instead of `address`: the id of one of the buyer's saved addresses (`GET /me/addresses`).",
    )
    save_address = serializers.BooleanField(
        required=False, default=False, help_text="With `address`: also keep it in the buyer's address book."
    )
    payment_method = serializers.CharField(
        max_length=255,
        write_only=True,
        help_text=(
            "The payment provider's payment-method id (`pm_...`), from Stripe.js or the mobile SDK: card data "
            "never comes here (a card field is refused with 400 `card_data_not_accepted`). With the test "
            "provider: `pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined, "
            "`pm_card_authenticationRequired` needs 3-D Secure, `pm_card_timeout` answers too late."
        ),
    )
    expected_total = DecimalStringField(
        required=False,
        min_value=0,
        help_text=(
            'Optional: the cart total (items and shipping) the buyer was shown, e.g. `"28.95"`. When the cart\'s '
            "total at the moment of the charge differs, nothing is created or charged and the answer is "
            "409 `cart_total_changed` with `extra.expected_total` and `extra.total`."
        ),
        **_MONEY,
    )

    def validate(self, attrs):
        if ("address" in attrs) == ("address_id" in attrs):
            raise serializers.ValidationError({"address": ["Give either `address` or `address_id` (one of them)."]})
        return attrs


class OrderItemSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="title_at_purchase")
    unit_price = serializers.DecimalField(source="price_at_purchase", max_digits=10, decimal_places=2)
    line_total = serializers.DecimalField(**_MONEY)
    offering_id = serializers.IntegerField(allow_null=True, help_text="The offering bought (null once deleted).")
    options = serializers.CharField(
        source="options_at_purchase", help_text='The options chosen, as at purchase ("Size: 7, Metal: Silver").'
    )
    sku = serializers.CharField(source="sku_at_purchase", help_text="The seller's SKU at purchase (may be empty).")
    personalization = serializers.CharField(help_text="The buyer's personalisation text (empty for none).")

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "product_id",
            "offering_id",
            "title",
            "options",
            "sku",
            "personalization",
            "unit_price",
            "quantity",
            "line_total",
        ]


class ShippingAddressSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="ship_name")
    line1 = serializers.CharField(source="ship_line1")
    line2 = serializers.CharField(source="ship_line2")
    city = serializers.CharField(source="ship_city")
    region = serializers.CharField(source="ship_region")
    postcode = serializers.CharField(source="ship_postcode")
    country = serializers.CharField(source="ship_country")

    class Meta:
        model = Checkout
        fields = ["name", "line1", "line2", "city", "region", "postcode", "country"]


class CancellationRequestOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = CancellationRequest
        fields = ["status", "reason", "requested_at", "decided_at"]


class ReviewWindowSerializer(serializers.Serializer):
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    is_open = serializers.BooleanField()


class OrderSerializer(serializers.ModelSerializer):
    shop = ShopSummarySerializer(read_only=True)
    items = OrderItemSerializer(many=True, read_only=True)
    shipping_address = ShippingAddressSerializer(source="checkout", read_only=True)
    estimated_delivery = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="Placed + the shop's processing days + shipping business days; recomputed when it ships.",
    )
    delivered_via = serializers.ChoiceField(
        choices=Order.DeliveredVia.choices, read_only=True, allow_blank=True, help_text="Empty until delivered."
    )
    cancellation_request = CancellationRequestOutSerializer(
        read_only=True, allow_null=True, help_text="The buyer's request to cancel, if any."
    )
    review_window = serializers.SerializerMethodField(
        help_text="When the order may be reviewed and its review edited; null until it ships."
    )

    @extend_schema_field(ReviewWindowSerializer(allow_null=True))
    def get_review_window(self, order: Order):
        window = order.review_window
        if window is None:
            return None
        data = {"opens_at": window.opens_at, "closes_at": window.closes_at, "is_open": order.can_be_reviewed}
        return ReviewWindowSerializer(data).data

    class Meta:
        model = Order
        fields = [
            "id",
            "checkout_id",
            "shop",
            "status",
            "items",
            "subtotal",
            "shipping",
            "total",
            "tracking_number",
            "shipping_address",
            "created_at",
            "paid_at",
            "shipped_at",
            "estimated_delivery",
            "delivered_at",
            "delivered_via",
            "cancelled_at",
            "cancellation_request",
            "review_window",
        ]


class SellerOrderSerializer(OrderSerializer):
    buyer_name = serializers.CharField(source="buyer.public_name", read_only=True)
    transaction_fee = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, help_text="The marketplace's fee, fixed when placed."
    )
    processing_fee = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    net = serializers.DecimalField(
        **_MONEY, read_only=True, help_text="What you receive: the total less both fees (before refunds)."
    )

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "buyer_name", "transaction_fee", "processing_fee", "net"]


class CheckoutResultSerializer(serializers.Serializer):
    checkout_id = serializers.UUIDField(source="checkout.pk")
    payment_status = serializers.ChoiceField(
        choices=["paid", "unknown", "requires_action"],
        help_text=(
            "`unknown`: the payment provider did not answer in time; the orders stay pending until resolved. "
            "`requires_action`: the buyer must authenticate (3-D Secure): finish it in the app with "
            "`client_secret` (Stripe SDK `handleNextAction`); the orders are paid when the provider confirms."
        ),
    )
    client_secret = serializers.CharField(
        help_text="With `requires_action` only: the payment's client secret for the provider's SDK; otherwise empty."
    )
    total = serializers.DecimalField(source="checkout.total", **_MONEY)
    orders = OrderSerializer(many=True, help_text="One order per shop.")


class ReviewRequestSerializer(StrictJsonSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class OrderReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = [
            "id",
            "order_id",
            "shop_id",
            "rating",
            "comment",
            "seller_reply",
            "replied_at",
            "created_at",
            "edited_at",
        ]


class CancellationRequestSerializer(StrictJsonSerializer):
    reason = serializers.CharField(max_length=1000, help_text="Why the buyer wants to cancel; the shop reads it.")


class CancellationDecisionSerializer(StrictJsonSerializer):
    decision = serializers.ChoiceField(
        choices=["accept", "decline"],
        help_text="`accept`: cancel, restock and refund the buyer in full (once). `decline`: the order goes on.",
    )


class SellerOrderFilterSerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="Created on or after (inclusive).")
    date_to = serializers.DateField(required=False, help_text="Created on or before (inclusive).")


class BuyerOrderFilterSerializer(QuerySerializer):
    state = serializers.ChoiceField(
        choices=["open", "shipped", "delivered", "cancelled"],
        required=False,
        help_text="`open`: not shipped yet (awaiting payment or paid); the others: orders in that status.",
    )


class ShipRequestSerializer(StrictJsonSerializer):
    tracking_number = serializers.CharField(max_length=100)


class ReplyRequestSerializer(StrictJsonSerializer):
    reply = serializers.CharField(allow_blank=True, max_length=2000, help_text="Empty clears the reply.")


class SellerReviewSerializer(OrderReviewSerializer):
    reviewer_name = serializers.CharField(source="reviewer.public_name", read_only=True)

    class Meta(OrderReviewSerializer.Meta):
        fields = [*OrderReviewSerializer.Meta.fields, "reviewer_name"]


class ReviewSerializer(serializers.ModelSerializer):
    reviewer_name = serializers.CharField(source="reviewer.public_name", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "rating", "comment", "reviewer_name", "seller_reply", "replied_at", "created_at"]


class ShopReviewsParamsSerializer(QuerySerializer):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=10)


class DayFiguresSerializer(serializers.Serializer):
    day = serializers.DateField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    orders = serializers.IntegerField()


class ListingFiguresSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    views = serializers.IntegerField()
    favorites = serializers.IntegerField()
    units_sold = serializers.IntegerField()
    conversion = serializers.DecimalField(
        max_digits=8, decimal_places=2, allow_null=True, help_text="Units sold per hundred views."
    )


class ShopStatsSerializer(serializers.Serializer):
    days = DayFiguresSerializer(many=True)
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    orders = serializers.IntegerField()
    views = serializers.IntegerField()
    favorites = serializers.IntegerField()
    units_sold = serializers.IntegerField()
    conversion = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    top_by_views = ListingFiguresSerializer(many=True)
    top_by_favorites = ListingFiguresSerializer(many=True)
    top_by_sales = ListingFiguresSerializer(many=True)


class StatsParamsSerializer(QuerySerializer):
    days = serializers.IntegerField(required=False, default=30, min_value=1, max_value=365)
