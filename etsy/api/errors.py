"""The API's single error format and the DRF exception handler that produces it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from etsy.exceptions import DomainError


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, stable error code (e.g. `item_reserved`).")
    message = serializers.CharField(help_text="Human-readable explanation.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Field errors keyed by field name (lists of messages; nested objects for nested fields).",
    )
    extra = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Structured context, e.g. `reserved_until` for `item_reserved`, `retry_after` for `throttled`.",
    )


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_body(*, code: str, message: str, fields: dict | None = None, extra: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}, "extra": extra or {}}}


def _validation_error_fields(detail: Any) -> dict:
    if isinstance(detail, dict):
        return detail
    return {api_settings.NON_FIELD_ERRORS_KEY: detail if isinstance(detail, list) else [detail]}


def _first_message(fields: dict) -> str:
    non_field = fields.get(api_settings.NON_FIELD_ERRORS_KEY)
    if isinstance(non_field, list) and non_field:
        return str(non_field[0])
    return "Some fields are invalid."


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Turn domain, validation, auth and HTTP errors into the one error body.

    Anything else is a bug: return None so Django answers 500 and logs it.
    """
    if isinstance(exc, DomainError):
        set_rollback()
        extra = dict(exc.extra)
        fields = None
        if isinstance(extra.get("fields"), dict):  # e.g. InvalidAddress: {field: message}
            fields = {name: v if isinstance(v, list) else [v] for name, v in extra.pop("fields").items()}
        return Response(
            error_body(code=exc.code, message=exc.message, fields=fields, extra=extra), status=exc.status_code
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RecursionError) and "JSON" in str(exc):  # a body nested deeper than the parser can go
        exc = exceptions.ParseError("JSON parse error - the body is nested too deeply.")
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    extra: dict[str, Any] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait))
        extra["retry_after"] = int(exc.wait)

    if isinstance(exc, exceptions.ValidationError):
        fields = _validation_error_fields(exc.detail)
        body = error_body(code="invalid", message=_first_message(fields), fields=fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = error_body(code=code, message=str(exc.detail), extra=extra)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


@csrf_exempt  # any method may reach it; there is nothing to protect
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Answer unknown /api/v1/ paths in the API's error format rather than an HTML page."""
    response = JsonResponse(error_body(code="not_found", message="No API endpoint at this address."), status=404)
    response["Cache-Control"] = "private, no-store"
    return response


# Codes for error responses under /api/ that no DRF view wrote (ApiErrorFormatMiddleware).
_STATUS_CODES = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You may not do that."),
    404: ("not_found", "No API endpoint at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("request_too_large", "The request is too large."),
    500: ("server_error", "Something went wrong on our side; try again."),
}


def error_body_for_status(status: int) -> dict:
    """The API's error body for a bare HTTP status (Django's 404 page, a 405 of a plain view, a 500)."""
    code, message = _STATUS_CODES.get(status) or (
        ("server_error", "Something went wrong on our side; try again.")
        if status >= 500
        else ("bad_request", "The request could not be handled.")
    )
    return error_body(code=code, message=message)
