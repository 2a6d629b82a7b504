"""Shapes of the seller's payments in the API (amounts as strings; fees and refunds negative)."""

from rest_framework import serializers

from etsy.api.fields import DecimalStringField, StrictJsonSerializer

_MONEY = {"max_digits": 12, "decimal_places": 2}


class LedgerEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["sale", "fee", "refund", "fee_refund", "dispute", "payout"])
    amount = serializers.DecimalField(**_MONEY, help_text="Signed: fees, refunds and payouts are negative.")
    order_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class SellerPaymentsSerializer(serializers.Serializer):
    balance = serializers.DecimalField(**_MONEY, help_text="Held for your shop: the sum of every entry.")
    pending = serializers.DecimalField(**_MONEY, help_text="Part of the balance not transferred to you yet.")
    entries = LedgerEntrySerializer(many=True)


class RefundRequestSerializer(StrictJsonSerializer):
    amount = DecimalStringField(
        required=False,
        min_value=0,
        help_text='Optional, e.g. `"12.50"`; none refunds what remains of the order.',
        **_MONEY,
    )
    restock = serializers.BooleanField(
        required=False, default=False, help_text="`true` only when the piece is back with you and can be sold again."
    )


class RefundResultSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    amount = serializers.DecimalField(**_MONEY, help_text="Refunded now.")
    fee_refund = serializers.DecimalField(**_MONEY, help_text="The share of the fees given back to you.")
    remaining = serializers.DecimalField(**_MONEY, help_text="What could still be refunded.")
