"""Shapes of checkout, orders and reviews in the API. Validation of shape only; rules live in services."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.serializers import ShopSummarySerializer
from etsy.api.fields import (
    QuerySerializer,
    StrictJsonSerializer,
)
from orders import extensions
from orders.models import CancellationRequest, Checkout, Order, OrderItem, Review

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class OrderItemSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="title_at_purchase")
    unit_price = serializers.DecimalField(source="price_at_purchase", max_digits=10, decimal_places=2)
    line_total = serializers.DecimalField(**MONEY)
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
        fields = ["status", "reason", "requested_at", "decided_at", "accepted_on_timeout"]


class ReviewWindowSerializer(serializers.Serializer):
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    is_open = serializers.BooleanField()


class OrderListSerializer(serializers.ListSerializer):
    """A page of orders: their refunded amounts read once for the page, not once per order."""

    def to_representation(self, data):
        orders = list(data.all() if hasattr(data, "all") else data)
        self.child.context["refunded_amounts"] = extensions.get_refunded_amounts(order_ids=[o.pk for o in orders])
        return super().to_representation(orders)


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

    refunded_amount = serializers.SerializerMethodField(
        help_text="What you have had back for this order so far (refunds, cancellations, cases), to the cent."
    )

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_refunded_amount(self, order: Order) -> str:
        amounts = self.context.get("refunded_amounts")
        amount = (
            amounts.get(order.pk, ZERO) if amounts is not None else extensions.get_refunded_amount(order_id=order.pk)
        )
        return f"{amount:.2f}"

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
            "refunded_amount",
        ]
        list_serializer_class = OrderListSerializer


class SellerOrderSerializer(OrderSerializer):
    buyer_name = serializers.CharField(source="buyer.public_name", read_only=True)
    transaction_fee = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, help_text="The marketplace's fee, fixed when placed."
    )
    processing_fee = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    net = serializers.DecimalField(
        **MONEY, read_only=True, help_text="What you receive: the total less both fees (before refunds)."
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
    total = serializers.DecimalField(source="checkout.total", **MONEY)
    orders = OrderSerializer(many=True, help_text="One order per shop.")

    def to_representation(self, result):
        # By hand, the fields above (and OrderSerializer's) being the schema: every checkout answers with this, and
        # DRF built and deep-copied some sixty fields per answer. tests/api/test_checkout_answer.py holds it equal
        # to the fields' own output.
        orders = result.orders
        refunded = extensions.get_refunded_amounts(order_ids=[order.pk for order in orders])
        return {
            "checkout_id": str(result.checkout.pk),
            "payment_status": str(result.payment_status),
            "client_secret": str(result.client_secret),
            "total": _MONEY_FIELD.to_representation(result.checkout.total),
            "orders": [_order_answer(order, refunded.get(order.pk, ZERO)) for order in orders],
        }


_MONEY_FIELD = serializers.DecimalField(**MONEY)
_PRICE_FIELD = serializers.DecimalField(max_digits=10, decimal_places=2)  # unit prices and shipping
_RATING_FIELD = serializers.DecimalField(max_digits=2, decimal_places=1)
_DATETIME = serializers.DateTimeField()


def _datetime(value):
    return None if value is None else _DATETIME.to_representation(value)


def _order_answer(order: Order, refunded: Decimal) -> dict:
    """One order as OrderSerializer shows it (its fields, in their order), built by hand for the checkout."""
    shop, checkout = order.shop, order.checkout
    try:
        cancellation = order.cancellation_request
    except CancellationRequest.DoesNotExist:
        cancellation = None
    window = order.review_window
    return {
        "id": order.pk,
        "checkout_id": order.checkout_id,
        "shop": {
            "id": shop.pk,
            "name": str(shop.name),
            "slug": str(shop.slug),
            "location": str(shop.location),
            "rating": None if shop.rating is None else _RATING_FIELD.to_representation(shop.rating),
            "review_count": int(shop.review_count),
        },
        "status": str(order.status),
        "items": [
            {
                "id": item.pk,
                "product_id": item.product_id,
                "offering_id": item.offering_id,
                "title": str(item.title_at_purchase),
                "options": str(item.options_at_purchase),
                "sku": str(item.sku_at_purchase),
                "personalization": str(item.personalization),
                "unit_price": _PRICE_FIELD.to_representation(item.price_at_purchase),
                "quantity": int(item.quantity),
                "line_total": _MONEY_FIELD.to_representation(item.line_total),
            }
            for item in order.items.all()
        ],
        "subtotal": _MONEY_FIELD.to_representation(order.subtotal),
        "shipping": _PRICE_FIELD.to_representation(order.shipping),
        "total": _MONEY_FIELD.to_representation(order.total),
        "tracking_number": str(order.tracking_number),
        "shipping_address": {
            "name": str(checkout.ship_name),
            "line1": str(checkout.ship_line1),
            "line2": str(checkout.ship_line2),
            "city": str(checkout.ship_city),
            "region": str(checkout.ship_region),
            "postcode": str(checkout.ship_postcode),
            "country": str(checkout.ship_country),
        },
        "created_at": _datetime(order.created_at),
        "paid_at": _datetime(order.paid_at),
        "shipped_at": _datetime(order.shipped_at),
        "estimated_delivery": None if order.estimated_delivery is None else order.estimated_delivery.isoformat(),
        "delivered_at": _datetime(order.delivered_at),
        "delivered_via": str(order.delivered_via),
        "cancelled_at": _datetime(order.cancelled_at),
        "cancellation_request": None
        if cancellation is None
        else {
            "status": str(cancellation.status),
            "reason": str(cancellation.reason),
            "requested_at": _datetime(cancellation.requested_at),
            "decided_at": _datetime(cancellation.decided_at),
            "accepted_on_timeout": bool(cancellation.accepted_on_timeout),
        },
        "review_window": None
        if window is None
        else {
            "opens_at": _datetime(window.opens_at),
            "closes_at": _datetime(window.closes_at),
            "is_open": bool(order.can_be_reviewed),
        },
        "refunded_amount": f"{refunded:.2f}",
    }


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
