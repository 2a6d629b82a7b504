"""A buyer's cancellation request and the seller's decision.

    (none) --request_cancellation--> pending --accept--> accepted (order cancelled, refunded in full)
                                     pending --decline--> declined (the order goes on; no second request)

While a request is pending the order cannot ship (``cancellation_pending``). Both steps lock the
order row first, so two clicks or two devices at once have one effect. A request the shop leaves
unanswered for CANCELLATION_RESPONSE_HOURS is accepted by a scheduled task (``accept_overdue_cancellations``):
the order could not ship meanwhile anyway, and the buyer's money must not wait forever.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from etsy import outbox
from orders import events
from orders.exceptions import (
    CancellationAlreadyDecided,
    CancellationAlreadyRequested,
    InvalidCancellationReason,
    NoCancellationRequest,
    OrderAlreadyShipped,
    OrderCancelled,
    OrderNotFound,
)
from orders.models import CancellationRequest, Order
from orders.services import fulfilment

logger = logging.getLogger(__name__)

MAX_REASON = 1000
ACCEPT, DECLINE = "accept", "decline"


@transaction.atomic
def request_cancellation(*, buyer, order_id: int, reason: str) -> CancellationRequest:
    """Ask the shop to cancel one of ``buyer``'s unshipped orders; email the shop owner after commit.

    Raises OrderNotFound, InvalidCancellationReason, OrderAlreadyShipped, OrderCancelled,
    CancellationAlreadyRequested (pending or already decided: one request per order).
    """
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidCancellationReason()
    order = Order.objects.locked().filter(pk=order_id, buyer_id=buyer.pk).first()
    if order is None:
        raise OrderNotFound()
    if order.status == Order.Status.CANCELLED:
        raise OrderCancelled()
    if not order.can_be_cancelled:
        raise OrderAlreadyShipped()
    existing = CancellationRequest.objects.filter(order_id=order.pk).first()
    if existing is not None:
        raise CancellationAlreadyRequested(extra={"status": existing.status})
    try:
        with transaction.atomic():
            request = CancellationRequest.objects.create(order=order, reason=reason)
    except IntegrityError as exc:  # one request per order (the row lock makes this a backstop)
        raise CancellationAlreadyRequested() from exc
    outbox.publish(topic=events.TOPIC_CANCELLATION_REQUESTED, payload={"order_id": order.pk})
    return request


@transaction.atomic
def decide_cancellation(*, order: Order, decision: str) -> Order:
    """Accept (cancel, restock and refund in full, once) or decline the buyer's pending request; email the buyer.

    Repeating the same decision is a no-op. Raises NoCancellationRequest, CancellationAlreadyDecided
    (the other decision was taken), OrderAlreadyShipped.
    """
    if decision not in (ACCEPT, DECLINE):
        raise ValueError(decision)
    locked = Order.objects.locked().get(pk=order.pk)
    request = CancellationRequest.objects.select_for_update().filter(order_id=locked.pk).first()
    if request is None:
        raise NoCancellationRequest()
    wanted = CancellationRequest.Status.ACCEPTED if decision == ACCEPT else CancellationRequest.Status.DECLINED
    if request.status == wanted:
        return locked
    if request.status != CancellationRequest.Status.PENDING:
        raise CancellationAlreadyDecided(extra={"decision": request.status})
    if decision == ACCEPT:
        return fulfilment.cancel_order(order=locked)  # marks the request accepted, emails the buyer
    request.status, request.decided_at = CancellationRequest.Status.DECLINED, timezone.now()
    request.save(update_fields=["status", "decided_at"])
    outbox.publish(topic=events.TOPIC_CANCELLATION_DECLINED, payload={"order_id": locked.pk})
    return locked


def accept_overdue_cancellation(*, order_id: int, now: datetime | None = None) -> bool:
    """Accept one pending request past its deadline (cancel, restock, refund in full); email both sides.

    Returns whether it was accepted now; a request answered meanwhile, or not overdue yet, is left as it is.
    """
    now = now or timezone.now()
    deadline = now - timedelta(hours=settings.CANCELLATION_RESPONSE_HOURS)
    with transaction.atomic():
        locked = Order.objects.locked().filter(pk=order_id).first()
        request = (
            CancellationRequest.objects.select_for_update()
            .filter(order_id=order_id, status=CancellationRequest.Status.PENDING, requested_at__lte=deadline)
            .first()
        )
        if locked is None or request is None:
            return False
        CancellationRequest.objects.filter(pk=request.pk).update(accepted_on_timeout=True)
        fulfilment.cancel_order(order=locked)  # marks the request accepted and emails the buyer
        outbox.publish(topic=events.TOPIC_CANCELLATION_TIMED_OUT, payload={"order_id": locked.pk})
    logger.info("cancellation accepted on timeout", extra={"event": "cancellation_timed_out", "order_id": order_id})
    return True


def accept_overdue_cancellations(*, now: datetime | None = None) -> int:
    """Accept every pending request older than CANCELLATION_RESPONSE_HOURS, each in its own transaction."""
    now = now or timezone.now()
    deadline = now - timedelta(hours=settings.CANCELLATION_RESPONSE_HOURS)
    overdue = CancellationRequest.objects.filter(
        status=CancellationRequest.Status.PENDING, requested_at__lte=deadline
    ).values_list("order_id", flat=True)
    return sum(accept_overdue_cancellation(order_id=order_id, now=now) for order_id in list(overdue))
