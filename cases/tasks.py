"""Cases background jobs (scheduled in settings)."""

import logging
from decimal import Decimal

from celery import shared_task

from cases import services

logger = logging.getLogger(__name__)


@shared_task(name="cases.tasks.escalate_overdue_cases", ignore_result=True)
def escalate_overdue_cases() -> int:
    """Hand cases the seller left unanswered past their deadline to marketplace staff (idempotent per case)."""
    escalated = services.escalate_overdue_cases()
    if escalated:
        logger.info("cases escalated", extra={"event": "cases_escalated", "cases": escalated})
    return escalated


@shared_task(name="cases.tasks.resolve_case_refunded_outside", ignore_result=True)
def resolve_case_refunded_outside(order_id: int, amount: str) -> bool:
    """Resolve the order's open case after a full refund booked outside it (idempotent)."""
    return services.resolve_case_refunded_outside(order_id=order_id, amount=Decimal(amount)) is not None
