"""Every refused checkout body answers as it did before the checkout body had a fast path of its own.

CASES holds bad bodies (and headers) with the status and JSON the API answered for them when the whole body went
through CheckoutRequestSerializer; the fast path in ``CheckoutRequestSerializer.validated`` must not change one.
"""

import json

import pytest

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Analytical Row", "city": "London", "postcode": "N1 9GU"}
CARD = "pm_card_visa"


def _with(**changes):
    return {**ADDRESS, **changes}


def _without(name):
    return {k: v for k, v in ADDRESS.items() if k != name}


BODIES = {
    "empty object": {},
    "a list": [],
    "a string": "address",
    "null": None,
    "a number": 5,
    "neither address": {"payment_method": CARD},
    "both addresses": {"address": ADDRESS, "address_id": 1, "payment_method": CARD},
    "address not an object": {"address": "1 Analytical Row", "payment_method": CARD},
    "address a list": {"address": [ADDRESS], "payment_method": CARD},
    "address null": {"address": None, "payment_method": CARD},
    "address empty": {"address": {}, "payment_method": CARD},
    "name missing": {"address": _without("name"), "payment_method": CARD},
    "line1 missing": {"address": _without("line1"), "payment_method": CARD},
    "city missing": {"address": _without("city"), "payment_method": CARD},
    "postcode missing": {"address": _without("postcode"), "payment_method": CARD},
    "name blank": {"address": _with(name=""), "payment_method": CARD},
    "name spaces": {"address": _with(name="   "), "payment_method": CARD},
    "name too long": {"address": _with(name="x" * 121), "payment_method": CARD},
    "name a number": {"address": _with(name=5), "payment_method": CARD},
    "name null": {"address": _with(name=None), "payment_method": CARD},
    "name nul": {"address": _with(name="Ada\x00"), "payment_method": CARD},
    "line1 too long": {"address": _with(line1="x" * 201), "payment_method": CARD},
    "line2 too long": {"address": _with(line2="x" * 201), "payment_method": CARD},
    "line2 null": {"address": _with(line2=None), "payment_method": CARD},
    "line2 a number": {"address": _with(line2=2), "payment_method": CARD},
    "city too long": {"address": _with(city="x" * 101), "payment_method": CARD},
    "region too long": {"address": _with(region="x" * 101), "payment_method": CARD},
    "region true": {"address": _with(region=True), "payment_method": CARD},
    "postcode too long": {"address": _with(postcode="x" * 21), "payment_method": CARD},
    "postcode blank": {"address": _with(postcode=""), "payment_method": CARD},
    "country blank": {"address": _with(country=""), "payment_method": CARD},
    "country too long": {"address": _with(country="USA"), "payment_method": CARD},
    "country null": {"address": _with(country=None), "payment_method": CARD},
    "country unknown": {"address": _with(country="ZZ"), "payment_method": CARD},
    "country lower case": {"address": _with(country="us"), "payment_method": CARD},
    "address_id zero": {"address_id": 0, "payment_method": CARD},
    "address_id negative": {"address_id": -3, "payment_method": CARD},
    "address_id a string": {"address_id": "5", "payment_method": CARD},
    "address_id true": {"address_id": True, "payment_method": CARD},
    "address_id a float": {"address_id": 1.5, "payment_method": CARD},
    "address_id null": {"address_id": None, "payment_method": CARD},
    "address_id not saved": {"address_id": 2**40, "payment_method": CARD},
    "address_id past bigint": {"address_id": 2**70, "payment_method": CARD},
    "payment_method missing": {"address": ADDRESS},
    "payment_method blank": {"address": ADDRESS, "payment_method": ""},
    "payment_method too long": {"address": ADDRESS, "payment_method": "p" * 256},
    "payment_method a number": {"address": ADDRESS, "payment_method": 7},
    "payment_method null": {"address": ADDRESS, "payment_method": None},
    "payment_method a list": {"address": ADDRESS, "payment_method": [CARD]},
    "payment_method surrogate": {"address": ADDRESS, "payment_method": "pm_\ud800"},
    "save_address a string": {"address": ADDRESS, "payment_method": CARD, "save_address": "true"},
    "save_address a number": {"address": ADDRESS, "payment_method": CARD, "save_address": 1},
    "save_address null": {"address": ADDRESS, "payment_method": CARD, "save_address": None},
    "expected_total a number": {"address": ADDRESS, "payment_method": CARD, "expected_total": 28.95},
    "expected_total negative": {"address": ADDRESS, "payment_method": CARD, "expected_total": "-1.00"},
    "expected_total exponent": {"address": ADDRESS, "payment_method": CARD, "expected_total": "1e2"},
    "expected_total three places": {"address": ADDRESS, "payment_method": CARD, "expected_total": "28.955"},
    "expected_total blank": {"address": ADDRESS, "payment_method": CARD, "expected_total": ""},
    "expected_total spaces": {"address": ADDRESS, "payment_method": CARD, "expected_total": " 28.95"},
    "expected_total null": {"address": ADDRESS, "payment_method": CARD, "expected_total": None},
    "expected_total too many digits": {"address": ADDRESS, "payment_method": CARD, "expected_total": "12345678901"},
    "expected_total NaN": {"address": ADDRESS, "payment_method": CARD, "expected_total": "NaN"},
    "several wrong at once": {"address": _with(name=5, city=""), "payment_method": 7, "expected_total": 1},
    "card number": {"address": ADDRESS, "payment_method": CARD, "card_number": "4242424242424242"},
    "card field nested": {"address": _with(cvc="123"), "payment_method": CARD},
    "well formed, empty cart": {"address": ADDRESS, "payment_method": CARD},
    "well formed with extras, empty cart": {
        "address": _with(line2="Flat 2", region="Greater London", country="GB", note="x"),
        "payment_method": CARD,
        "save_address": True,
        "expected_total": "0.00",
        "coupon": "ignored",
    },
}
RAW_BODIES = {
    "malformed JSON": b'{"address": ',
    "JSON with a trailing comma": b'{"payment_method": "pm_card_visa",}',
}
KEYS = {
    "Idempotency-Key missing": None,
    "Idempotency-Key blank": "  ",
    "Idempotency-Key too long": "k" * 256,
    "Idempotency-Key not ASCII": "clé",
    "Idempotency-Key with a quote inside": 'a"b',
}


def _post(client, body, key="checkout-errors-1"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    if isinstance(body, bytes):
        return client.generic("POST", "/api/v1/checkout", body, content_type="application/json", **headers)
    return client.post("/api/v1/checkout", json.dumps(body), content_type="application/json", **headers)


def _requests():
    for name, body in BODIES.items():
        yield name, body, "checkout-errors-1"
    for name, body in RAW_BODIES.items():
        yield name, body, "checkout-errors-1"
    for name, key in KEYS.items():
        yield name, {"address": ADDRESS, "payment_method": CARD}, key


def _error(code, message, fields=None):
    return {"error": {"code": code, "message": message, "fields": fields or {}, "extra": {}}}


INVALID = "Some fields are invalid."
NO_CARD_DATA = (
    "Card details are never sent to us: enter them in the payment provider's form and send its payment_method id "
    "(pm_...) instead."
)
KEY_MISSING = "The Idempotency-Key header is required for this request."
KEY_INVALID = "The Idempotency-Key must be 1 to 255 printable ASCII characters."
CART_EMPTY = "Your cart is empty."
# Captured from main before the fast path (the same requests, one after the other, an empty cart).
EXPECTED = {
    "empty object": (400, _error("invalid", INVALID, {"payment_method": ["This field is required."]})),
    "a list": (
        400,
        _error(
            "invalid",
            "Invalid data. Expected a dictionary, but got list.",
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
    ),
    "a string": (
        400,
        _error(
            "invalid",
            "Invalid data. Expected a dictionary, but got str.",
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
        ),
    ),
    "null": (400, _error("invalid", "No data provided", {"non_field_errors": ["No data provided"]})),
    "a number": (
        400,
        _error(
            "invalid",
            "Invalid data. Expected a dictionary, but got int.",
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]},
        ),
    ),
    "neither address": (
        400,
        _error("invalid", INVALID, {"address": ["Give either `address` or `address_id` (one of them)."]}),
    ),
    "both addresses": (
        400,
        _error("invalid", INVALID, {"address": ["Give either `address` or `address_id` (one of them)."]}),
    ),
    "address not an object": (400, _error("invalid", INVALID, {"address": ["Wrong type for this field."]})),
    "address a list": (400, _error("invalid", INVALID, {"address": ["Wrong type for this field."]})),
    "address null": (400, _error("invalid", INVALID, {"address": ["This field may not be null."]})),
    "address empty": (
        400,
        _error(
            "invalid",
            INVALID,
            {
                "address": {
                    "name": ["This field is required."],
                    "line1": ["This field is required."],
                    "city": ["This field is required."],
                    "postcode": ["This field is required."],
                }
            },
        ),
    ),
    "name missing": (400, _error("invalid", INVALID, {"address": {"name": ["This field is required."]}})),
    "line1 missing": (400, _error("invalid", INVALID, {"address": {"line1": ["This field is required."]}})),
    "city missing": (400, _error("invalid", INVALID, {"address": {"city": ["This field is required."]}})),
    "postcode missing": (400, _error("invalid", INVALID, {"address": {"postcode": ["This field is required."]}})),
    "name blank": (400, _error("invalid", INVALID, {"address": {"name": ["This field may not be blank."]}})),
    "name spaces": (
        400,
        _error("invalid_address", "The shipping address is incomplete.", {"name": ["This field is required."]}),
    ),
    "name too long": (
        400,
        _error("invalid", INVALID, {"address": {"name": ["Ensure this field has no more than 120 characters."]}}),
    ),
    "name a number": (400, _error("invalid", INVALID, {"address": {"name": ["Wrong type for this field."]}})),
    "name null": (400, _error("invalid", INVALID, {"address": {"name": ["This field may not be null."]}})),
    "name nul": (400, _error("invalid", INVALID, {"address": {"name": ["Null characters are not allowed."]}})),
    "line1 too long": (
        400,
        _error("invalid", INVALID, {"address": {"line1": ["Ensure this field has no more than 200 characters."]}}),
    ),
    "line2 too long": (
        400,
        _error("invalid", INVALID, {"address": {"line2": ["Ensure this field has no more than 200 characters."]}}),
    ),
    "line2 null": (400, _error("invalid", INVALID, {"address": {"line2": ["This field may not be null."]}})),
    "line2 a number": (400, _error("invalid", INVALID, {"address": {"line2": ["Wrong type for this field."]}})),
    "city too long": (
        400,
        _error("invalid", INVALID, {"address": {"city": ["Ensure this field has no more than 100 characters."]}}),
    ),
    "region too long": (
        400,
        _error("invalid", INVALID, {"address": {"region": ["Ensure this field has no more than 100 characters."]}}),
    ),
    "region true": (400, _error("invalid", INVALID, {"address": {"region": ["Wrong type for this field."]}})),
    "postcode too long": (
        400,
        _error("invalid", INVALID, {"address": {"postcode": ["Ensure this field has no more than 20 characters."]}}),
    ),
    "postcode blank": (400, _error("invalid", INVALID, {"address": {"postcode": ["This field may not be blank."]}})),
    "country blank": (400, _error("invalid", INVALID, {"address": {"country": ["This field may not be blank."]}})),
    "country too long": (
        400,
        _error("invalid", INVALID, {"address": {"country": ["Ensure this field has no more than 2 characters."]}}),
    ),
    "country null": (400, _error("invalid", INVALID, {"address": {"country": ["This field may not be null."]}})),
    "country unknown": (400, _error("cart_empty", CART_EMPTY)),
    "country lower case": (400, _error("cart_empty", CART_EMPTY)),
    "address_id zero": (
        400,
        _error("invalid", INVALID, {"address_id": ["Ensure this value is greater than or equal to 1."]}),
    ),
    "address_id negative": (
        400,
        _error("invalid", INVALID, {"address_id": ["Ensure this value is greater than or equal to 1."]}),
    ),
    "address_id a string": (400, _error("invalid", INVALID, {"address_id": ["Wrong type for this field."]})),
    "address_id true": (400, _error("invalid", INVALID, {"address_id": ["Wrong type for this field."]})),
    "address_id a float": (400, _error("invalid", INVALID, {"address_id": ["Wrong type for this field."]})),
    "address_id null": (400, _error("invalid", INVALID, {"address_id": ["This field may not be null."]})),
    "address_id not saved": (
        400,
        _error("invalid", INVALID, {"address_id": ["No such address in your address book."]}),
    ),
    "address_id past bigint": (
        400,
        _error("invalid", INVALID, {"address_id": ["No such address in your address book."]}),
    ),
    "payment_method missing": (400, _error("invalid", INVALID, {"payment_method": ["This field is required."]})),
    "payment_method blank": (400, _error("invalid", INVALID, {"payment_method": ["This field may not be blank."]})),
    "payment_method too long": (
        400,
        _error("invalid", INVALID, {"payment_method": ["Ensure this field has no more than 255 characters."]}),
    ),
    "payment_method a number": (400, _error("invalid", INVALID, {"payment_method": ["Wrong type for this field."]})),
    "payment_method null": (400, _error("invalid", INVALID, {"payment_method": ["This field may not be null."]})),
    "payment_method a list": (400, _error("invalid", INVALID, {"payment_method": ["Wrong type for this field."]})),
    "payment_method surrogate": (
        400,
        _error("invalid", INVALID, {"payment_method": ["Surrogate characters are not allowed: U+D800."]}),
    ),
    "save_address a string": (400, _error("invalid", INVALID, {"save_address": ["Wrong type for this field."]})),
    "save_address a number": (400, _error("invalid", INVALID, {"save_address": ["Wrong type for this field."]})),
    "save_address null": (400, _error("invalid", INVALID, {"save_address": ["This field may not be null."]})),
    "expected_total a number": (400, _error("invalid", INVALID, {"expected_total": ["Wrong type for this field."]})),
    "expected_total negative": (400, _error("invalid", INVALID, {"expected_total": ["A valid number is required."]})),
    "expected_total exponent": (400, _error("invalid", INVALID, {"expected_total": ["A valid number is required."]})),
    "expected_total three places": (
        400,
        _error("invalid", INVALID, {"expected_total": ["A valid number is required."]}),
    ),
    "expected_total blank": (400, _error("invalid", INVALID, {"expected_total": ["A valid number is required."]})),
    "expected_total spaces": (400, _error("invalid", INVALID, {"expected_total": ["A valid number is required."]})),
    "expected_total null": (400, _error("invalid", INVALID, {"expected_total": ["This field may not be null."]})),
    "expected_total too many digits": (
        400,
        _error("invalid", INVALID, {"expected_total": ["A valid number is required."]}),
    ),
    "expected_total NaN": (400, _error("invalid", INVALID, {"expected_total": ["A valid number is required."]})),
    "several wrong at once": (
        400,
        _error(
            "invalid",
            INVALID,
            {
                "address": {"name": ["Wrong type for this field."], "city": ["This field may not be blank."]},
                "payment_method": ["Wrong type for this field."],
                "expected_total": ["Wrong type for this field."],
            },
        ),
    ),
    "card number": (400, _error("card_data_not_accepted", NO_CARD_DATA)),
    "card field nested": (400, _error("card_data_not_accepted", NO_CARD_DATA)),
    "well formed, empty cart": (400, _error("cart_empty", CART_EMPTY)),
    "well formed with extras, empty cart": (400, _error("cart_empty", CART_EMPTY)),
    "malformed JSON": (400, _error("parse_error", "JSON parse error - Expecting value: line 1 column 13 (char 12)")),
    "JSON with a trailing comma": (
        400,
        _error(
            "parse_error",
            "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 35 (char 34)",
        ),
    ),
    "Idempotency-Key missing": (400, _error("idempotency_key_missing", KEY_MISSING)),
    "Idempotency-Key blank": (400, _error("idempotency_key_missing", KEY_MISSING)),
    "Idempotency-Key too long": (400, _error("idempotency_key_invalid", KEY_INVALID)),
    "Idempotency-Key not ASCII": (400, _error("idempotency_key_invalid", KEY_INVALID)),
    "Idempotency-Key with a quote inside": (400, _error("idempotency_key_invalid", KEY_INVALID)),
}


def test_every_refused_checkout_answers_as_before(buyer_client):
    answers = {}
    for n, (name, body, key) in enumerate(_requests()):
        response = _post(buyer_client, body, f"checkout-errors-{n}" if key == "checkout-errors-1" else key)
        answers[name] = (response.status_code, response.json())
    assert answers.keys() == EXPECTED.keys()
    for name, expected in EXPECTED.items():
        assert answers[name] == expected, name


@pytest.mark.parametrize("name", list(BODIES))
def test_a_checkout_body_is_validated_as_its_serializer_validates_it(name):
    from rest_framework.exceptions import ValidationError

    from orders.api.checkout_request import CheckoutRequestSerializer

    body = BODIES[name]
    serializer = CheckoutRequestSerializer(data=body)
    expected = serializer.validated_data if serializer.is_valid() else serializer.errors
    try:
        answer = CheckoutRequestSerializer.validated(body)
    except ValidationError as exc:
        answer = exc.detail
    assert answer == expected
    assert json.dumps(answer, default=str) == json.dumps(expected, default=str)  # the same order too
