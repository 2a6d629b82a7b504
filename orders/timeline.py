"""The order page's timeline: what happened to an order, built from its fields and events, oldest first.

Apps above orders add their entries through ``orders.extensions.list_order_timeline_entries``
(the cases app: opened, answered, escalated, decided).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from orders import extensions
from orders.models import CancellationRequest, Order

UNSETTLED = ("pending", "unknown", "requires_action")
TRACKING_LABELS = {
    "pre_transit": "Label created by the carrier",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered, says the carrier",
    "exception": "Delivery problem reported by the carrier",
    "returned": "Returned to the shop by the carrier",
}
DELIVERED_DETAIL = {
    Order.DeliveredVia.BUYER: "You confirmed you received it.",
    Order.DeliveredVia.CARRIER: "The carrier reported the delivery.",
    Order.DeliveredVia.AUTO: "Taken as delivered some days after the estimated date.",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    label: str
    detail: str = ""
    url: str = ""
    url_label: str = ""
    upcoming: bool = False  # a date still ahead (the estimated delivery)
    all_day: bool = False  # a date, not a moment
    tracking: bool = False  # show the order's tracking number (a carrier link when the carrier is known)


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def build_timeline(*, order: Order, refunded: Decimal | None = None, now=None) -> list[TimelineEntry]:
    """Return the order's timeline entries, oldest first (estimated delivery placed at its date)."""
    now = now or timezone.now()
    entries = [TimelineEntry(order.created_at, "Placed")]
    if order.paid_at:
        entries.append(TimelineEntry(order.paid_at, "Paid", _money(order.total)))
    request = getattr(order, "cancellation_request", None) if hasattr(order, "cancellation_request") else None
    if request is not None:
        entries.append(TimelineEntry(request.requested_at, "Cancellation requested", f"Reason: {request.reason}"))
        if request.status == CancellationRequest.Status.DECLINED:
            entries.append(TimelineEntry(request.decided_at, "Cancellation declined by the shop"))
        elif request.status == CancellationRequest.Status.ACCEPTED:
            entries.append(TimelineEntry(request.decided_at, "Cancellation accepted by the shop"))
    if order.shipped_at:
        entries.append(TimelineEntry(order.shipped_at, "Shipped", tracking=bool(order.tracking_number)))
    for event in order.tracking_events.all():
        if event.status == "delivered" and order.delivered_via == Order.DeliveredVia.CARRIER:
            continue  # the "Delivered" entry below says the carrier reported it
        entries.append(TimelineEntry(event.occurred_at, TRACKING_LABELS.get(event.status, event.status), event.carrier))
    if order.estimated_delivery and order.is_awaiting_delivery:
        at = _start_of(order.estimated_delivery)
        entries.append(TimelineEntry(at, "Estimated delivery", upcoming=at > now, all_day=True))
    if order.delivered_at:
        entries.append(TimelineEntry(order.delivered_at, "Delivered", DELIVERED_DETAIL.get(order.delivered_via, "")))
    if order.cancelled_at:
        entries.append(TimelineEntry(order.cancelled_at, "Cancelled"))
        if refunded:
            entries.append(TimelineEntry(order.cancelled_at, "Refunded", f"{_money(refunded)} back to your card"))
    review = getattr(order, "review", None) if hasattr(order, "review") else None
    if review is not None:
        first = "" if review.edited_at else f"{review.rating} out of 5 stars"
        entries.append(TimelineEntry(review.created_at, "Reviewed", first))
        if review.edited_at:
            entries.append(TimelineEntry(review.edited_at, "Review edited", f"{review.rating} out of 5 stars"))
    entries.extend(extensions.list_order_timeline_entries(order=order))
    return sorted(entries, key=lambda entry: entry.at)


def status_line(*, order: Order, refunded: Decimal | None) -> str:
    """The order's status as the buyer reads it ("Cancelled — refunded $28.00")."""
    if order.status == Order.Status.CANCELLED:
        if refunded:
            return f"Cancelled — refunded {_money(refunded)}"
        charged = order.checkout.payment_status == order.checkout.PaymentStatus.PAID
        if order.paid_at or (order.refund_when_charged and charged):
            return f"Cancelled — refund of {_money(order.total)} on its way"
        if order.refund_when_charged and order.checkout.payment_status in UNSETTLED:
            return "Cancelled — if your payment still goes through, it is refunded at once"
        return "Cancelled — you were not charged"
    if refunded:  # a seller's refund or a case's: the parcel may still be on its way
        return f"{order.get_status_display()} — refunded {_money(refunded)}"
    return order.get_status_display()
