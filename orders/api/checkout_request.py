"""The checkout request's shape in the API (``POST /api/v1/checkout``) and its fast path: a well-formed body is
taken as it is without building the serializer (``CheckoutRequestSerializer.validated``). Shape only; the rules
live in orders.services."""

import copy

from rest_framework import serializers

from etsy.api.fields import (
    ABSENT,
    MAX_ID,
    DecimalStringField,
    StrictJsonSerializer,
    is_int_in,
    is_plain_text,
)
from orders.api.serializers import MONEY


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
        **MONEY,
    )

    def validate(self, attrs):
        if ("address" in attrs) == ("address_id" in attrs):
            raise serializers.ValidationError({"address": ["Give either `address` or `address_id` (one of them)."]})
        return attrs

    @classmethod
    def validated(cls, data) -> dict:
        """``data``'s validated data; raises ValidationError with the serializer's field errors.

        Every checkout comes through this, and a serializer builds and deep-copies its five fields and the
        address's seven for each request: a body every field takes as it is (see ``_taken_as_it_is``) is taken
        here, anything else goes through the serializer, which answers every refusal.
        tests/api/test_checkout_request_errors.py holds both to the same answers.
        """
        if type(data) is dict:
            validated = _taken_as_it_is(data)
            if validated is not None:
                return validated
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# The address's fields as AddressSerializer declares them: name, max_length, required, allow_blank, default.
_ADDRESS_FIELDS = tuple(
    (name, field.max_length, field.required, field.allow_blank, None if field.required else field.default)
    for name, field in AddressSerializer._declared_fields.items()
)
_EXPECTED_TOTAL = copy.deepcopy(CheckoutRequestSerializer._declared_fields["expected_total"])
_PAYMENT_METHOD_LENGTH = CheckoutRequestSerializer._declared_fields["payment_method"].max_length


def _taken_as_it_is(data: dict) -> dict | None:
    """The checkout body's validated data when every field takes its value as it is; None for anything else.

    JSON types as documented, text within its limits (no NUL or surrogate), exactly one of ``address`` and
    ``address_id``, an id in range, ``expected_total`` as DecimalStringField reads it.
    """
    address, address_id = data.get("address", ABSENT), data.get("address_id", ABSENT)
    payment_method, save_address = data.get("payment_method", ABSENT), data.get("save_address", False)
    if type(save_address) is not bool or not is_plain_text(payment_method, _PAYMENT_METHOD_LENGTH, allow_blank=False):
        return None
    validated = {}
    if address_id is ABSENT:
        if type(address) is not dict:
            return None
        shipping = {}
        for name, limit, required, allow_blank, default in _ADDRESS_FIELDS:
            value = address.get(name, ABSENT)
            if value is ABSENT:
                if required:
                    return None
                value = default
            elif not is_plain_text(value, limit, allow_blank=allow_blank):
                return None
            shipping[name] = value
        validated["address"] = shipping
    elif address is ABSENT and is_int_in(address_id, 1, MAX_ID):
        validated["address_id"] = address_id
    else:
        return None
    validated["save_address"] = save_address
    validated["payment_method"] = payment_method
    expected_total = data.get("expected_total", ABSENT)
    if expected_total is not ABSENT:
        if type(expected_total) is not str:
            return None
        try:
            validated["expected_total"] = _EXPECTED_TOTAL.run_validation(expected_total)
        except serializers.ValidationError:
            return None
    return validated
