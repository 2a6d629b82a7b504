"""Case transitions, one function each (the state diagram is in cases/models.py).

Every transition locks the case row (opening locks the order row), checks the state under the lock, writes
a ``CaseEvent`` and publishes ``cases.event`` to the outbox in the same transaction: the emails go out
after commit, exactly once per event. Refunds go through ``payments.services.refunds.refund_order``,
which books the ledger under the order's lock and calls the provider from the outbox after commit.
Lock order: case, then order (``refund_order``); opening takes only the order. Time comes from ``now``
(default: the clock) so deadlines are tested without waiting.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases import eligibility, events
from cases.exceptions import (
    CaseAlreadyOpen,
    CaseAlreadyRefunded,
    CaseClosed,
    CaseDeadlineNotPassed,
    CaseEscalated,
    CaseNotEscalated,
    CaseNotFound,
    InvalidCase,
    NotMarketplaceStaff,
)
from cases.models import Case, CaseEvent
from etsy import outbox
from etsy.admin_permissions import is_marketplace_admin
from orders.exceptions import OrderNotFound
from orders.models import Order
from payments.services import refunds

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
#: The same text from the same person on the same case within this window is one message (a double click).
DUPLICATE_WINDOW = timedelta(seconds=30)
Status, Role, EventKind = Case.Status, CaseEvent.Role, CaseEvent.Kind


def _text(value: str | None, *, field: str, required: bool = True) -> str:
    text = (value or "").strip()
    if (required and not text) or len(text) > MAX_TEXT:
        raise InvalidCase(
            f"Write at most {MAX_TEXT} characters{' (required)' if required else ''}.", extra={"field": field}
        )
    return text


def _record(case: Case, *, kind: str, role: str, author=None, body: str = "", amount=None, now: datetime) -> CaseEvent:
    event = CaseEvent.objects.create(
        case=case, kind=kind, role=role, author=author, body=body, amount=amount, created_at=now
    )
    sides = events.recipients_of(kind=kind, role=role)
    outbox.publish_many(topic=events.TOPIC_CASE_EVENT, payloads=[{"event_id": event.pk, "side": s} for s in sides])
    logger.info("case event", extra={"event": f"case_{kind}", "case_id": case.pk, "role": role})
    return event


def _locked(case_id, **owner) -> Case:
    try:
        case = Case.objects.select_for_update(of=("self",)).select_related("order").get(pk=int(case_id), **owner)
    except (Case.DoesNotExist, TypeError, ValueError):
        raise CaseNotFound() from None
    return case


def _refuse_final(case: Case) -> None:
    if not case.is_active:
        raise CaseClosed(f"This case is closed ({case.get_status_display().lower()}).")


@transaction.atomic
def open_case(*, buyer, order_id: int, kind: str, description: str, now: datetime | None = None) -> Case:
    """Open a case on one of ``buyer``'s orders; the seller has CASE_SELLER_RESPONSE_HOURS to answer.

    Locks the order (two submissions at once open one case). Raises OrderNotFound (missing or someone
    else's), InvalidCase, OrderNotCaseable, CaseTooEarly, CaseAlreadyOpen. Emails buyer and seller after commit.
    """
    now = now or timezone.now()
    if kind not in Case.Kind.values:
        raise InvalidCase("Choose what went wrong: not received or not as described.", extra={"field": "kind"})
    description = _text(description, field="description")
    try:
        order = Order.objects.locked().get(pk=int(order_id), buyer_id=buyer.pk)
    except (Order.DoesNotExist, TypeError, ValueError):
        raise OrderNotFound() from None
    active = Case.objects.filter(order_id=order.pk, status__in=Case.ACTIVE).values_list("pk", flat=True).first()
    if active is not None:
        raise CaseAlreadyOpen(extra={"case_id": active})
    refusal = eligibility.refusal_to_open(order=order, kind=kind, today=timezone.localdate(now))
    if refusal is not None:
        raise refusal
    try:
        with transaction.atomic():
            case = Case.objects.create(
                order=order,
                buyer_id=buyer.pk,
                shop_id=order.shop_id,
                kind=kind,
                description=description,
                opened_at=now,
                seller_deadline=now + timedelta(hours=settings.CASE_SELLER_RESPONSE_HOURS),
            )
    except IntegrityError as exc:  # the one-active-case index, should the lock ever be bypassed
        raise CaseAlreadyOpen() from exc
    _record(case, kind=EventKind.OPENED, role=Role.BUYER, author=buyer, body=description, now=now)
    return case


def _message(case: Case, *, role: str, author, body: str, now: datetime) -> CaseEvent:
    last = case.events.filter(kind=EventKind.MESSAGE, author=author).order_by("-created_at", "-id").first()
    if last is not None and last.body == body and now - last.created_at < DUPLICATE_WINDOW:
        return last  # the same message sent twice at once (double click, two devices): one message
    return _record(case, kind=EventKind.MESSAGE, role=role, author=author, body=body, now=now)


@transaction.atomic
def add_buyer_message(*, buyer, case_id: int, body: str, now: datetime | None = None) -> CaseEvent:
    """Add the buyer's message to an active case. Raises CaseNotFound, InvalidCase, CaseClosed. Emails the seller."""
    now = now or timezone.now()
    body = _text(body, field="body")
    case = _locked(case_id, buyer_id=buyer.pk)
    _refuse_final(case)
    return _message(case, role=Role.BUYER, author=buyer, body=body, now=now)


@transaction.atomic
def add_seller_message(*, seller, case_id: int, body: str, now: datetime | None = None) -> CaseEvent:
    """Answer a case of the seller's shop: the first answer moves an open case to seller_responded.

    Raises CaseNotFound (not the seller's shop), InvalidCase, CaseClosed. Emails the buyer.
    """
    now = now or timezone.now()
    body = _text(body, field="body")
    case = _locked(case_id, shop__owner_id=seller.pk)
    _refuse_final(case)
    if case.status == Status.OPEN:
        case.status, case.seller_responded_at = Status.SELLER_RESPONDED, now
        case.save(update_fields=["status", "seller_responded_at"])
    return _message(case, role=Role.SELLER, author=seller, body=body, now=now)


@transaction.atomic
def add_staff_note(*, staff, case_id: int, body: str, now: datetime | None = None) -> CaseEvent:
    """Add a marketplace staff note (shown to both sides). Raises NotMarketplaceStaff, CaseNotFound, CaseClosed."""
    _require_staff(staff)
    now = now or timezone.now()
    body = _text(body, field="body")
    case = _locked(case_id)
    _refuse_final(case)
    return _message(case, role=Role.STAFF, author=staff, body=body, now=now)


@transaction.atomic
def refund_by_seller(
    *, seller, case_id: int, amount: Decimal | None = None, note: str = "", now: datetime | None = None
) -> Case:
    """Refund the buyer from a case of the seller's shop: in full (``amount`` None or all that remains)
    resolves it; in part answers it (seller_responded), once per case.

    Raises CaseNotFound, CaseClosed, CaseEscalated, CaseAlreadyRefunded, InvalidCase, and the refund's
    OrderNotRefundable / RefundTooLarge (nothing is booked then). Emails the buyer.
    """
    now = now or timezone.now()
    note = _text(note, field="note", required=False)
    case = _locked(case_id, shop__owner_id=seller.pk)
    _refuse_final(case)
    if case.status == Status.ESCALATED:
        raise CaseEscalated()
    if case.refund_amount > 0:
        raise CaseAlreadyRefunded()
    booked = refunds.refund_order(order=case.order, amount=amount)
    case.refund_amount += booked.amount
    if booked.remaining == 0:
        case.status, case.resolved_at = Status.RESOLVED_REFUNDED, now
    else:
        case.status = Status.SELLER_RESPONDED
    case.seller_responded_at = case.seller_responded_at or now
    case.save(update_fields=["status", "resolved_at", "seller_responded_at", "refund_amount"])
    _record(case, kind=EventKind.REFUND, role=Role.SELLER, author=seller, body=note, amount=booked.amount, now=now)
    return case


def _escalate(case: Case, *, by, now: datetime) -> Case:
    case.status, case.escalated_at = Status.ESCALATED, now
    case.save(update_fields=["status", "escalated_at"])
    role = Role.BUYER if by is not None else Role.SYSTEM
    body = "" if by is not None else "The seller did not answer in time."
    _record(case, kind=EventKind.ESCALATED, role=role, author=by, body=body, now=now)
    return case


@transaction.atomic
def escalate_by_buyer(*, buyer, case_id: int, note: str = "", now: datetime | None = None) -> Case:
    """Hand an active case to marketplace staff once the seller's deadline has passed (idempotent); a note
    goes into the thread in the same transaction.

    Raises CaseNotFound, CaseClosed, CaseDeadlineNotPassed, InvalidCase. Emails buyer and seller.
    """
    now = now or timezone.now()
    note = _text(note, field="note", required=False)
    case = _locked(case_id, buyer_id=buyer.pk)
    if case.status != Status.ESCALATED:
        _refuse_final(case)
        if now < case.seller_deadline:
            raise CaseDeadlineNotPassed(extra={"seller_deadline": case.seller_deadline.isoformat()})
        case = _escalate(case, by=buyer, now=now)
    if note:
        _message(case, role=Role.BUYER, author=buyer, body=note, now=now)
    return case


@transaction.atomic
def escalate_if_overdue(*, case_id: int, now: datetime | None = None) -> bool:
    """Escalate one case still waiting for the seller past its deadline; False when there is nothing to do."""
    now = now or timezone.now()
    case = Case.objects.select_for_update(skip_locked=True).filter(pk=case_id).first()
    if case is None or case.status != Status.OPEN or case.seller_deadline > now:
        return False  # answered, closed, escalated already, or being changed right now (the next run looks again)
    _escalate(case, by=None, now=now)
    return True


def escalate_overdue_cases(*, now: datetime | None = None) -> int:
    """Escalate every case the seller left unanswered past its deadline (the beat task); returns how many."""
    now = now or timezone.now()
    due = Case.objects.filter(status=Status.OPEN, seller_deadline__lte=now).values_list("pk", flat=True)
    return sum(escalate_if_overdue(case_id=pk, now=now) for pk in list(due[:1000]))


@transaction.atomic
def close_by_buyer(*, buyer, case_id: int, note: str = "", now: datetime | None = None) -> Case:
    """The buyer closes their case (solved, or a partial refund accepted). Idempotent.

    Raises CaseNotFound, CaseClosed (decided by staff or refunded), InvalidCase. Emails the seller.
    """
    now = now or timezone.now()
    note = _text(note, field="note", required=False)
    case = _locked(case_id, buyer_id=buyer.pk)
    if case.status == Status.CLOSED_BY_BUYER:
        return case
    _refuse_final(case)
    case.status, case.resolved_at, case.resolved_by = Status.CLOSED_BY_BUYER, now, buyer
    case.save(update_fields=["status", "resolved_at", "resolved_by"])
    _record(case, kind=EventKind.CLOSED, role=Role.BUYER, author=buyer, body=note, now=now)
    return case


@transaction.atomic
def resolve_case_refunded_outside(*, order_id: int, amount: Decimal, now: datetime | None = None) -> Case | None:
    """Resolve the order's active case when the order was refunded in full another way (the seller's refund
    in the payments admin, a cancellation): the buyer has their money back, so nothing is left to decide.

    Idempotent: a case already final, or an order with money still to refund, is left as it is. Locks the
    case. Emails the buyer.
    """
    now = now or timezone.now()
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("order")
        .filter(order_id=order_id, status__in=Case.ACTIVE)
        .first()
    )
    if case is None or refunds.has_remaining(order=case.order):
        return None
    case.status, case.resolved_at = Status.RESOLVED_REFUNDED, now
    case.refund_amount += amount
    case.save(update_fields=["status", "resolved_at", "refund_amount"])
    body = "The order was refunded in full outside this case, so the case is resolved."
    _record(case, kind=EventKind.REFUND, role=Role.SYSTEM, body=body, amount=amount, now=now)
    return case


def _require_staff(user) -> None:
    if not is_marketplace_admin(SimpleNamespace(user=user)):  # the admin's own rule, asked of a user
        raise NotMarketplaceStaff()


@transaction.atomic
def decide_case(
    *, staff, case_id: int, refund: bool, amount: Decimal | None = None, note: str = "", now: datetime | None = None
) -> Case:
    """Marketplace staff decide an escalated case: refund (``amount``, None: all that remains) or close.

    Records who and when. Raises NotMarketplaceStaff, CaseNotFound, CaseNotEscalated (also when decided
    already: a second click changes nothing), InvalidCase, and the refund's OrderNotRefundable /
    RefundTooLarge. Emails buyer and seller with the amount.
    """
    _require_staff(staff)
    now = now or timezone.now()
    note = _text(note, field="note", required=False)
    case = _locked(case_id)
    if case.status != Status.ESCALATED:
        raise CaseNotEscalated(f"This case is {case.get_status_display().lower()}: only an escalated case is decided.")
    booked = None
    if refund:
        booked = refunds.refund_order(order=case.order, amount=amount)
        case.refund_amount += booked.amount
        case.status = Status.RESOLVED_REFUNDED
    else:
        case.status = Status.RESOLVED_CLOSED
    case.resolved_at, case.resolved_by = now, staff
    case.save(update_fields=["status", "resolved_at", "resolved_by", "refund_amount"])
    _record(
        case,
        kind=EventKind.DECISION,
        role=Role.STAFF,
        author=staff,
        body=note,
        amount=booked.amount if booked else None,
        now=now,
    )
    return case
