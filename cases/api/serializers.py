"""Shapes of cases in the API. Validation of shape only; rules live in cases.services."""

from rest_framework import serializers

from cases.models import Case, CaseEvent
from etsy.api.fields import DecimalStringField, QuerySerializer, StrictJsonSerializer

_MONEY = {"max_digits": 12, "decimal_places": 2}
_TEXT = {"max_length": 2000}


class OpenCaseRequestSerializer(StrictJsonSerializer):
    kind = serializers.ChoiceField(choices=Case.Kind.choices)
    description = serializers.CharField(allow_blank=True, help_text="What happened (1-2000 characters).", **_TEXT)


class MessageRequestSerializer(StrictJsonSerializer):
    body = serializers.CharField(allow_blank=True, help_text="1-2000 characters.", **_TEXT)


class NoteRequestSerializer(StrictJsonSerializer):
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Optional, at most 2000 characters.", **_TEXT
    )


class SellerRefundRequestSerializer(StrictJsonSerializer):
    amount = DecimalStringField(
        required=False,
        min_value=0,
        help_text='Optional, e.g. `"12.50"`; none refunds all that remains of the order (and resolves the case).',
        **_MONEY,
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", **_TEXT)


class CaseFilterSerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=Case.Status.choices, required=False)


class CaseEventSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(allow_null=True, help_text="The refund this event booked.", **_MONEY)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "role", "body", "amount", "created_at"]


class CaseSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField()
    shop_id = serializers.IntegerField()
    refund_amount = serializers.DecimalField(help_text="Refunded through this case so far.", **_MONEY)
    events = CaseEventSerializer(many=True, read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "order_id",
            "shop_id",
            "kind",
            "description",
            "status",
            "opened_at",
            "seller_deadline",
            "seller_responded_at",
            "escalated_at",
            "resolved_at",
            "refund_amount",
            "events",
        ]
