"""OpenAPI generation: every operation documents the errors it can answer with."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticatedOrReadOnly

from etsy.api.errors import ErrorResponseSerializer
from etsy.api.fields import DecimalStringField

_GENERIC_ERRORS = {
    "400": "Invalid input: `error.fields` holds the field errors.",
    "401": "Not signed in, or an invalid token.",
    "403": "Signed in but not allowed (or a missing CSRF token with session auth).",
    "404": "No such object, or it is not yours; or a page past the last.",
    "415": "Unsupported request content type.",
    "429": "Too many requests: `Retry-After` says when to try again.",
}


def error_response(description: str) -> OpenApiResponse:
    """An error response for ``@extend_schema(responses=...)``."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)


class ApiAutoSchema(AutoSchema):
    """Add the generic errors (auth, throttling, validation, missing) to each operation,
    and describe decimal strings exactly as ``DecimalStringField`` reads them."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, DecimalStringField):
            schema["pattern"] = field.pattern
        elif isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            whole = field.max_digits - field.decimal_places
            schema["pattern"] = rf"^-?[0-9]{{1,{whole}}}\.[0-9]{{{field.decimal_places}}}$"  # how we write them
        return schema

    def _is_public_read(self) -> bool:
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            return False
        return all(isinstance(p, (AllowAny, IsAuthenticatedOrReadOnly)) for p in self.view.get_permissions())

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        has_body = self.method in ("POST", "PUT", "PATCH")
        codes = {"400", "401", "429"}
        if not self._is_public_read():
            codes.add("403")
        if "{" in self.path or self._is_list_view():
            codes.add("404")
        if has_body:
            codes.add("415")
        for code in codes - set(responses):
            responses[code] = self._get_response_for_code(error_response(_GENERIC_ERRORS[code]), code)
        return dict(sorted(responses.items()))
