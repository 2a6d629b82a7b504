"""The carrier tracking webhook (POST /webhooks/tracking): the integration point for a tracking service.

The body is JSON ``{"carrier", "tracking_number", "status", "occurred_at"?}`` signed with HMAC-SHA256 under
``settings.TRACKING_WEBHOOK_SECRET``: header ``X-Tracking-Signature: sha256=<hex digest of the raw body>``.
Answers: 400 bad signature or body; 202 ``{"outcome": "unknown_tracking"}`` for a number no shipped order has
(accepted and ignored: a tracking service retries 4xx answers, and a parcel that is not ours never becomes
ours); 200 ``{"outcome": "recorded" | "delivered"}`` otherwise. A replay changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.services import tracking

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Tracking-Signature"


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}, "extra": {}}}, status=status)


def sign(body: bytes, secret: str) -> str:
    """The signature header value of ``body`` (the tracking service computes the same)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@csrf_exempt  # authenticated by the signature instead
@require_POST
def tracking_webhook(request: HttpRequest) -> JsonResponse:
    secret = settings.TRACKING_WEBHOOK_SECRET
    if not secret:
        return _error("webhooks_not_configured", "No tracking webhook secret is configured.", 503)
    if not hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, ""), sign(request.body, secret)):
        logger.warning("tracking webhook refused: bad signature", extra={"event": "tracking_webhook_refused"})
        return _error("invalid_signature", "The webhook signature is not valid.", 400)
    try:
        data = json.loads(request.body)
        carrier, number, status = (str(data[k]).strip() for k in ("carrier", "tracking_number", "status"))
    except (ValueError, TypeError, KeyError):
        return _error("invalid_payload", "Send JSON with carrier, tracking_number and status.", 400)
    if status not in tracking.STATUSES or not carrier or not number or len(number) > 100:
        return _error("invalid_payload", f"status is one of {', '.join(tracking.STATUSES)}.", 400)
    occurred_at = parse_datetime(str(data.get("occurred_at") or "")) if data.get("occurred_at") else timezone.now()
    if occurred_at is None:
        return _error("invalid_payload", "occurred_at is an ISO 8601 date and time.", 400)
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, timezone.utc)
    outcome = tracking.record_tracking_update(
        carrier=carrier, tracking_number=number, status=status, occurred_at=occurred_at
    )
    return JsonResponse({"received": True, "outcome": outcome}, status=202 if outcome == "unknown_tracking" else 200)
