"""Cart background jobs (scheduled in settings, "Background jobs")."""

import logging

from celery import shared_task

from cart.services import delete_expired_reservations
from etsy import metrics

logger = logging.getLogger(__name__)


@shared_task(name="cart.tasks.cleanup_expired_reservations", ignore_result=True)
def cleanup_expired_reservations() -> int:
    """Delete cart lines whose hold ended (every minute); log and count them. Idempotent."""
    count = delete_expired_reservations()
    if count:
        metrics.reservations_expired.inc(count)
    logger.info("Cleaned up %d expired reservations", count, extra={"event": "reservations_expired", "count": count})
    return count
