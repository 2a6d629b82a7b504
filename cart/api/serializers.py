"""Shapes of the cart in the API. Validation of shape only; rules live in cart.services."""

from rest_framework import serializers

from cart.exceptions import MAX_LINE_QUANTITY
from cart.models import EndedHold
from catalog.api.serializers import ShopSummarySerializer
from catalog.models import PERSONALIZATION_LIMIT, Product
from etsy.api.fields import ABSENT, MAX_ID, StrictJsonSerializer, is_int_in, is_plain_text

_MONEY = {"max_digits": 12, "decimal_places": 2}


class CartProductSerializer(serializers.ModelSerializer):
    stock = serializers.IntegerField(source="quantity", read_only=True, help_text="Units the shop has.")

    class Meta:
        model = Product
        fields = ["id", "title", "slug", "price", "stock", "is_vintage"]


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="line_id", help_text="The line's id: what PATCH and DELETE name.")
    product = CartProductSerializer()
    offering_id = serializers.IntegerField(allow_null=True, help_text="The offering (size, colour...) bought.")
    options = serializers.CharField(
        source="options_label", help_text='The chosen options, e.g. "Size: 7, Metal: Silver"; empty for none.'
    )
    personalization = serializers.CharField(help_text="Your personalisation text for this line.")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**_MONEY)
    line_total = serializers.DecimalField(**_MONEY)
    reserved_until = serializers.DateTimeField(
        allow_null=True, help_text="Until when this unique item is held for you."
    )
    is_available = serializers.BooleanField()
    problem = serializers.ChoiceField(
        choices=["unavailable", "sold_out", "insufficient_stock", "reserved"], allow_null=True
    )
    reserved_by_other_until = serializers.DateTimeField(
        allow_null=True, help_text="Another buyer holds this item until then."
    )


class ShopGroupSerializer(serializers.Serializer):
    shop = ShopSummarySerializer()
    lines = CartLineSerializer(many=True)
    item_count = serializers.IntegerField()
    subtotal = serializers.DecimalField(**_MONEY)
    shipping = serializers.DecimalField(**_MONEY)
    total = serializers.DecimalField(**_MONEY)


class CartSerializer(serializers.Serializer):
    groups = ShopGroupSerializer(many=True, help_text="One group per shop: each becomes one order.")
    item_count = serializers.IntegerField()
    subtotal = serializers.DecimalField(**_MONEY)
    shipping = serializers.DecimalField(**_MONEY)
    total = serializers.DecimalField(**_MONEY)
    is_empty = serializers.BooleanField()
    has_problems = serializers.BooleanField()


class CartNoticeSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(source="product.pk")
    title = serializers.CharField(source="product.title")
    reason = serializers.ChoiceField(
        choices=EndedHold.Reason.choices,
        help_text="`hold_ended`: the 15-minute hold on a one-of-a-kind item ran out; `option_removed`: the shop "
        "no longer offers the size, colour... chosen.",
    )
    ended_at = serializers.DateTimeField()
    can_add_again = serializers.BooleanField(help_text="The listing can be put in the cart again now.")


class CartWithNoticesSerializer(CartSerializer):
    notices = CartNoticeSerializer(
        many=True,
        help_text="Lines that left the cart without you since you last looked (each is told once).",
    )


class CartItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The line's id: what PATCH and DELETE name.")
    product_id = serializers.IntegerField()
    offering_id = serializers.IntegerField()
    options = serializers.SerializerMethodField(help_text='The chosen options, e.g. "Size: 7, Metal: Silver".')
    personalization = serializers.CharField()
    quantity = serializers.IntegerField()
    reserved_until = serializers.DateTimeField(
        allow_null=True, help_text="Unique items are held for you until then; null for stocked items."
    )

    def get_options(self, item) -> str:
        return item.offering.options_label

    def to_representation(self, item):
        return self.represent(item)

    @staticmethod
    def represent(item) -> dict:
        """The line as this serializer answers it, without building one (every add answers with it)."""
        # By hand, the fields above being the schema: every add answers with this, and DRF deep-copied the seven
        # fields for each answer. tests/api/test_cart_api.py checks it against the fields' own output.
        reserved_until = item.reserved_until
        return {
            "id": item.pk,
            "product_id": item.product_id,
            "offering_id": item.offering_id,
            "options": item.offering.options_label,
            "personalization": item.personalization,
            "quantity": item.quantity,
            "reserved_until": None if reserved_until is None else _DATETIME.to_representation(reserved_until),
        }


_DATETIME = serializers.DateTimeField()


class AddCartItemSerializer(StrictJsonSerializer):
    offering_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="The offering to buy (a size, a colour...)."
    )
    product_id = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="A listing without variations (its one offering); a listing with variations needs `offering_id`.",
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY, default=1)
    personalization = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        max_length=PERSONALIZATION_LIMIT,
        help_text="Your text for a listing that asks for it (its limit applies); leave out otherwise.",
    )

    def validate(self, attrs):
        if attrs.get("offering_id") is None and attrs.get("product_id") is None:
            raise serializers.ValidationError({"offering_id": ["Give offering_id (or product_id)."]})
        return attrs

    @classmethod
    def validated(cls, data) -> dict:
        """``data``'s validated data; raises ValidationError with the serializer's field errors.

        Every add answers through this, and a serializer deep-copies its four fields for each request: a body
        every field accepts as it is (ids and quantity in range as JSON integers, text within the limit or
        left out) is taken here, anything else goes through the serializer. tests/api/test_cart_api.py checks
        that both give the same answer.
        """
        if type(data) is dict:
            offering_id, product_id = data.get("offering_id", ABSENT), data.get("product_id", ABSENT)
            quantity, text = data.get("quantity", 1), data.get("personalization", "")
            if (
                (offering_id is ABSENT or is_int_in(offering_id, 1, MAX_ID))
                and (product_id is ABSENT or is_int_in(product_id, 1, MAX_ID))
                and (offering_id is not ABSENT or product_id is not ABSENT)
                and is_int_in(quantity, 1, MAX_LINE_QUANTITY)
                and is_plain_text(text, PERSONALIZATION_LIMIT)
            ):
                validated = {"quantity": quantity, "personalization": text}
                if offering_id is not ABSENT:
                    validated["offering_id"] = offering_id
                if product_id is not ABSENT:
                    validated["product_id"] = product_id
                return validated
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class SetQuantitySerializer(StrictJsonSerializer):
    quantity = serializers.IntegerField(
        min_value=0,
        max_value=MAX_LINE_QUANTITY,
        required=False,
        help_text="0 removes the line; leaving it out changes nothing (the line is returned as it is).",
    )
