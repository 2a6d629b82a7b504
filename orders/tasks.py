"""Orders background jobs: payment resolution (scheduled in settings)."""

import logging

from celery import shared_task

from orders.services.checkout import resolve_unsettled_checkouts

logger = logging.getLogger(__name__)


@shared_task(name="orders.tasks.resolve_pending_payments", ignore_result=True)
def resolve_pending_payments() -> dict:
    """Ask the provider about checkouts whose charge outcome is unknown and settle them (every minute)."""
    outcomes = resolve_unsettled_checkouts()
    if outcomes:
        logger.info("resolved pending payments", extra={"event": "payments_resolved", **outcomes})
    return outcomes
