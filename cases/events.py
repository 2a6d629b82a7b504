"""Cases' outbox topic: email each case event to the people it concerns, once each (after commit).

One outbox row per event and recipient (``{"event_id", "side"}``), so a failed email to one side is retried
without sending the other twice. Who gets what:

    opened -> buyer (a receipt) and seller          message -> the other side (staff notes: both)
    refund (seller) -> buyer                        escalated -> buyer and seller
    decision (staff) -> buyer and seller            closed by the buyer -> seller
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse

from etsy.emails import send_templated_email
from etsy.outbox import DONE

logger = logging.getLogger(__name__)

TOPIC_CASE_EVENT = "cases.event"

BUYER, SELLER = "buyer", "seller"


def recipients_of(*, kind: str, role: str) -> list[str]:
    """The sides ("buyer", "seller") emailed about an event of ``kind`` written by ``role``."""
    if kind == "message":
        return {"buyer": [SELLER], "seller": [BUYER]}.get(role, [BUYER, SELLER])
    if kind == "refund":
        return [BUYER]
    if kind == "closed":
        return [SELLER]
    return [BUYER, SELLER]  # opened, escalated, decision


def _link(case, side: str) -> str:
    if side == SELLER:
        return settings.SITE_URL + reverse("admin:cases_case_change", args=[case.pk])
    return settings.SITE_URL + case.order.get_absolute_url() + "#case"


def notify_case_event(payload: dict) -> str:
    """Email one side about one case event (templates emails/case_update*)."""
    from cases.models import CaseEvent

    event = (
        CaseEvent.objects.select_related("case__order", "case__shop__owner", "case__buyer", "author")
        .filter(pk=payload["event_id"])
        .first()
    )
    if event is None:
        return DONE
    case, side = event.case, payload["side"]
    to = case.buyer if side == BUYER else case.shop.owner
    context = {"case": case, "event": event, "order": case.order, "shop": case.shop, "side": side}
    context["link"] = _link(case, side)
    send_templated_email(template="case_update", to=[to.email], context=context)
    logger.info("case event emailed", extra={"case_id": case.pk, "kind": event.kind, "side": side})
    return DONE


HANDLERS = {TOPIC_CASE_EVENT: notify_case_event}
