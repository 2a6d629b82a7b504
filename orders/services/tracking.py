"""Carrier tracking updates (the tracking webhook): recorded on the order's timeline; "delivered" delivers it."""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models.functions import Upper

from orders.models import Order, TrackingEvent
from orders.services import fulfilment

logger = logging.getLogger(__name__)

STATUSES = ("pre_transit", "in_transit", "out_for_delivery", "delivered", "exception", "returned")
DELIVERED = "delivered"


def record_tracking_update(*, carrier: str, tracking_number: str, status: str, occurred_at: datetime.datetime) -> str:
    """Record one carrier status for the shipped orders with this number; return the outcome.

    "unknown_tracking": no shipped order has the number (nothing changed). "recorded": the event is on
    their timelines (a replay adds nothing). "delivered": the orders were marked delivered (once).
    """
    number = (tracking_number or "").strip().upper()
    orders = list(
        Order.objects.annotate(number=Upper("tracking_number"))
        .filter(number=number, status__in=[Order.Status.SHIPPED, Order.Status.DELIVERED])
        .order_by("pk")
    )
    if not number or not orders:
        return "unknown_tracking"
    for order in orders:
        with transaction.atomic():
            TrackingEvent.objects.get_or_create(
                order=order, status=status, occurred_at=occurred_at, defaults={"carrier": carrier[:50]}
            )
            if status == DELIVERED:
                fulfilment.mark_delivered(order=order, via=Order.DeliveredVia.CARRIER)
    logger.info("tracking update", extra={"event": "tracking_update", "status": status, "orders": len(orders)})
    return "delivered" if status == DELIVERED else "recorded"
