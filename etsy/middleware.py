"""Cross-cutting HTTP middleware: request ids and access logs, Content-Security-Policy, the API's error format."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from django.conf import settings
from django.contrib.messages import middleware as messages
from django.http import JsonResponse
from django.utils.functional import empty
from django_prometheus import middleware as prometheus

from etsy.api.errors import error_body_for_status
from etsy.logging import REDACTED, contains_card_like_digits, is_secret_key

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# What we accept from a proxy or client: short, printable, no spaces; anything else is replaced.
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")

access_logger = structlog.get_logger("etsy.request")


def new_request_id() -> str:
    """A random 32-hex id that log redaction leaves intact (about 3 % of uuid4 hex hold a 12-digit run)."""
    while True:
        request_id = uuid.uuid4().hex
        if not contains_card_like_digits(request_id):
            return request_id


def accept_request_id(raw: str | None) -> str | None:
    """Return the incoming id when it is safe to log and echo, else None.

    Refused: empty, too long (over 128), characters outside ``[A-Za-z0-9._:@/+=-]``,
    and anything the log redaction would mask (a 12-19 digit run), so the id in
    the logs always equals the id returned to the caller.
    """
    if not raw or not _REQUEST_ID_PATTERN.match(raw) or contains_card_like_digits(raw):
        return None
    return raw


def loggable_path(request) -> str:
    """The path with URL parameters named like secrets (``<token>`` of a password reset link) masked."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    for name, value in match.kwargs.items() if match else ():
        if is_secret_key(name) and value not in (None, ""):
            path = path.replace(str(value), REDACTED)
    return path


def _resolved_user_id(request) -> int | None:
    """The user id without forcing an anonymous request to load a session."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        wrapped = user  # a session cookie: resolving it is what the view would do anyway
    return wrapped.pk if getattr(wrapped, "is_authenticated", False) else None


class RequestLogMiddleware:
    """Give each request an id (``X-Request-ID``, accepted or generated) and log one JSON line for it.

    The id and the user id are bound to structlog's context, so every log line
    written while serving the request (domain events included) carries them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = accept_request_id(request.META.get(_REQUEST_ID_META)) or new_request_id()
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            user_id = _resolved_user_id(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            fields = {
                "user_id": user_id,
                "method": request.method,
                "path": loggable_path(request),
                "status": status,
                "duration_ms": duration_ms,
            }
            if status >= 500:
                access_logger.error("request", **fields)
            elif status >= 400:
                access_logger.warning("request", **fields)
            else:
                access_logger.info("request", **fields)
            structlog.contextvars.clear_contextvars()

    def process_view(self, request, view_func, view_args, view_kwargs):
        user_id = _resolved_user_id(request)
        if user_id is not None:
            structlog.contextvars.bind_contextvars(user_id=user_id)
        return None


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` (report-only when ``CSP_REPORT_ONLY``)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        report_only = getattr(settings, "CSP_REPORT_ONLY", False)
        self.header = "Content-Security-Policy-Report-Only" if report_only else "Content-Security-Policy"

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and self.header not in response:
            response[self.header] = self.policy
        return response


class ApiErrorFormatMiddleware:
    """Under /api/, answer every error in the API's JSON format, whoever wrote it.

    DRF views already do (etsy.api.errors.api_exception_handler). This catches the rest: a path no
    URL pattern matches (a %0A in it included), a 405 of a plain Django view (/api/health), an
    unhandled exception's 500, a CSRF or size refusal. Status, headers (Allow, Retry-After,
    X-Frame-Options...) and cookies are kept; only the body and its type change.
    """

    REPLACED_HEADERS = frozenset({"content-type", "content-length", "content-encoding", "cache-control"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        replacement = JsonResponse(error_body_for_status(response.status_code), status=response.status_code)
        for header, value in response.items():
            if header.lower() not in self.REPLACED_HEADERS:
                replacement[header] = value
        replacement.cookies = response.cookies
        replacement["Cache-Control"] = "private, no-store"
        return replacement


class PrometheusAfterMiddleware(prometheus.PrometheusAfterMiddleware):
    """django-prometheus's, with each labelled child looked up once per process.

    ``Metric.labels()`` checks and joins the label values under a lock on every call: seven times a request
    here. The children are the ones the metrics keep anyway (views, methods, statuses, templates).
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self._children: dict[tuple, object] = {}

    def label_metric(self, metric, request, response=None, **labels):
        if not labels:
            return metric
        key = (id(metric), *labels.items())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(**labels)
        return child


class PageMessageMiddleware(messages.MessageMiddleware):
    """Django's messages middleware, for pages: none of its storage for the API (``/api/``).

    The API neither adds nor shows messages: its answers are JSON, and no module under an app's ``api/``
    imports ``django.contrib.messages`` (tests/test_api_middleware.py holds both).
    A message a page added waits in its cookie or session for the next page, as it did while API requests
    built a storage they never read. Building it (a cookie and a session store) was 2 % of an add-to-cart.
    """

    def process_request(self, request):
        if not request.path.startswith("/api/"):
            super().process_request(request)
