"""URLconf for tests/ops: the operations endpoints first, then the project's own URLs,
plus two views that exercise logging (a domain event with context, an unhandled error)."""

import logging

import structlog
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

domain_logger = logging.getLogger("tests.ops.domain")


@csrf_exempt
def log_domain_event(request):
    card = request.POST.get("card_number", "")
    domain_logger.info(
        "checkout completed", extra={"order_ids": [11, 12], "card_number": card, "note": f"paid with {card}"}
    )
    structlog.get_logger("tests.ops.domain").info("payment authorised", password="hunter2", last_card=card)
    return JsonResponse({"ok": True})


def explode(request):
    raise RuntimeError(f"provider refused card {request.GET.get('card', '')}")


urlpatterns = [
    path("", include("etsy.ops_urls")),
    path("ops-test/domain-event", log_domain_event, name="ops-test-domain-event"),
    path("ops-test/explode", explode, name="ops-test-explode"),
    path("", include("etsy.urls")),
]
