"""The provider's webhook endpoint: a thin adapter over payments.services.webhooks."""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.services import webhooks

logger = logging.getLogger(__name__)


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}, "extra": {}}}, status=status)


@csrf_exempt  # authenticated by the provider's signature instead
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """POST /payments/webhooks/stripe: verify the signature (STRIPE_WEBHOOK_SECRET), apply the event once."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        return _error("webhooks_not_configured", "No webhook secret is configured.", 503)
    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature", ""), settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        logger.warning("webhook refused: bad signature or payload", extra={"event": "webhook_refused"})
        return _error("invalid_signature", "The webhook signature or payload is not valid.", 400)
    payload = json.loads(request.body)
    outcome = webhooks.handle_stripe_event(
        event_id=event.id, event_type=event.type, obj=payload.get("data", {}).get("object", {})
    )
    return JsonResponse({"received": True, "outcome": outcome})
