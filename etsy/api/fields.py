"""Serializer bases that read JSON and query strings literally.

DRF is lenient by default: it turns 5 into "5", "5" into 5, "yes" into True, " 1e2 " into
Decimal(100), treats an empty query value as absent and takes the last of repeated ones.
The API documents exact types, so it refuses anything else with a 400 field error: what
the OpenAPI document says is valid is exactly what is accepted. Shape only; no rules here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.settings import api_settings


class DecimalStringField(serializers.DecimalField):
    """A decimal amount sent as a string of digits, e.g. "24.50" (no exponent, sign or spaces)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        whole = self.max_digits - self.decimal_places
        sign = "-?" if self.min_value is None or self.min_value < 0 else ""
        self.pattern = rf"^{sign}[0-9]{{1,{whole}}}(?:\.[0-9]{{1,{self.decimal_places}}})?$"

    def validate_empty_values(self, data):
        if data == "":  # DRF would read "" as null for a nullable field; only JSON null is null here
            self.fail("invalid")
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(self.pattern, data):
            self.fail("invalid")
        return super().to_internal_value(data)


def _json_types(field: serializers.Field) -> tuple[type, ...] | None:
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, (serializers.CharField, serializers.ChoiceField, DecimalStringField)):
        return (str,)
    if isinstance(field, serializers.ListField):
        return (list,)
    if isinstance(field, (serializers.DictField, serializers.Serializer)):
        return (Mapping,)
    return None


def _wrong_type(field: serializers.Field, value) -> bool:
    types = _json_types(field)
    if types is None or value is None:
        return False
    if isinstance(value, bool) and bool not in types:
        return True
    if not isinstance(value, types):
        return True
    if isinstance(field, serializers.ListField) and field.child is not None:
        return any(_wrong_type(field.child, item) for item in value)
    return False


def _validate_rest(serializer_class, serializer, data: dict, errors: dict):
    """Run DRF's validation on the fields without literal errors; report both kinds together."""
    try:
        value = super(serializer_class, serializer).to_internal_value(
            {k: v for k, v in data.items() if k not in errors}
        )
    except serializers.ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
        raise serializers.ValidationError({**detail, **errors}) from exc
    if errors:
        raise serializers.ValidationError(errors)
    return value


class StrictJsonSerializer(serializers.Serializer):
    """A JSON request body: each value must already have its documented JSON type.

    Text is taken as sent (no trimming): what counts as blank is the services' rule.
    """

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.CharField):
                field.trim_whitespace = False
        return fields

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        errors = {
            name: ["Wrong type for this field."]
            for name, field in self.fields.items()
            if not field.read_only and name in data and _wrong_type(field, data[name])
        }
        return _validate_rest(StrictJsonSerializer, self, dict(data), errors)


# A JSON body's fast path (a serializer deep-copies its fields for each request): a value every field of the
# serializer takes as it is, literally, is taken without building one; anything else goes through it.
ABSENT = object()
# What DRF's CharField refuses besides length (its ProhibitNullCharacters and ProhibitSurrogateCharacters).
_NOT_PLAIN = re.compile("[\x00\ud800-\udfff]")


def is_int_in(value, least: int, most: int) -> bool:
    """Whether an IntegerField(min_value=least, max_value=most) takes ``value`` (a JSON integer) as it is."""
    return type(value) is int and least <= value <= most


def is_plain_text(value, limit: int, *, allow_blank: bool = True) -> bool:
    """Whether a CharField(max_length=limit) of a StrictJsonSerializer (no trimming) takes ``value`` as it is."""
    return (
        type(value) is str and len(value) <= limit and (allow_blank or value != "") and _NOT_PLAIN.search(value) is None
    )


_INTEGER = re.compile(r"-?[0-9]{1,19}")
MAX_ID = 2**63 - 1  # bigint primary keys
MAX_QUANTITY = 2**31 - 1  # integer columns
# Free text in a query string (a search box): 400 characters, up to 12 bytes each once percent-encoded,
# leave room in gunicorn's request line (limit_request_line in etsy/gunicorn.conf.py) for the other
# parameters; tests/api/test_request_line.py checks every documented query fits.
MAX_QUERY_TEXT_LENGTH = 400
_BOOLEANS = {"true": True, "false": False}


class QuerySerializer(serializers.Serializer):
    """Query parameters: each given once, non-empty unless the field allows blank, exact literals."""

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):
            errors = {}
            values = {}
            for name, field in self.fields.items():
                if name not in data:
                    continue
                given = data.getlist(name)
                value = given[-1]
                if len(given) > 1:
                    errors[name] = ["Give this parameter once."]
                elif isinstance(field, serializers.BooleanField):
                    if value not in _BOOLEANS:
                        errors[name] = ["Use true or false."]
                    value = _BOOLEANS.get(value)
                elif isinstance(field, serializers.IntegerField) and not _INTEGER.fullmatch(value):
                    errors[name] = ["A valid integer is required."]
                values[name] = value
            return _validate_rest(QuerySerializer, self, values, errors)
        return super().to_internal_value(data)


MONEY_KWARGS = {"max_digits": 10, "decimal_places": 2, "min_value": Decimal("0")}
