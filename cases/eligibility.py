"""When a buyer may open a case: the one home of the rule (services enforce it, the order page asks it)."""

from __future__ import annotations

import datetime

from cases.exceptions import CaseTooEarly, OrderNotCaseable
from cases.models import Case
from etsy.exceptions import DomainError
from orders.models import Order

DECIDED = (Case.Status.RESOLVED_REFUNDED, Case.Status.RESOLVED_CLOSED)


def refusal_to_open(*, order: Order, kind: str, today: datetime.date) -> DomainError | None:
    """Return the error that forbids opening a ``kind`` case on ``order`` today, or None when allowed.

    "Not received": paid or shipped (never delivered) orders, after the estimated delivery date.
    "Not as described": delivered orders, or shipped ones after the estimated delivery date.
    An order whose case was decided (refunded, or closed by staff) takes no new case; one the buyer closed
    may be reopened as a new case. Another active case is checked by the service under the order's lock.
    """
    if order.status == Order.Status.CANCELLED:
        return OrderNotCaseable("A cancelled order cannot have a case.", code="order_cancelled")
    if order.status == Order.Status.PENDING_PAYMENT:
        return OrderNotCaseable("This order is not paid yet.", code="order_not_paid")
    if kind == Case.Kind.NOT_RECEIVED and order.status == Order.Status.DELIVERED:
        return OrderNotCaseable(
            "This order was delivered: report it as not as described if something is wrong.", code="order_delivered"
        )
    if kind == Case.Kind.NOT_AS_DESCRIBED and order.status == Order.Status.DELIVERED:
        return None
    if kind == Case.Kind.NOT_AS_DESCRIBED and order.status == Order.Status.PAID:
        return OrderNotCaseable("This order has not shipped yet.", code="order_not_shipped")
    if Case.objects.filter(order_id=order.pk, status__in=DECIDED).exists():
        return OrderNotCaseable("This order's case was already decided.", code="case_decided")
    estimate = order.estimated_delivery
    if estimate is None or today <= estimate:
        return CaseTooEarly(extra={"estimated_delivery": estimate.isoformat() if estimate else None})
    return None
