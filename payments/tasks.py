"""Payments background jobs (scheduled in settings)."""

import logging

from celery import shared_task

from payments.services.payouts import transfer_pending_payouts

logger = logging.getLogger(__name__)


@shared_task(name="payments.tasks.transfer_pending_payouts", ignore_result=True)
def transfer_pending_payouts_task() -> int:
    """Pay sellers the nets still held (payout account set up since, provider back after an outage)."""
    made = transfer_pending_payouts()
    if made:
        logger.info("pending payouts transferred", extra={"event": "payouts_transferred", "transfers": made})
    return made
