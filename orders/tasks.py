"""Orders background jobs: payment resolution, sellers' daily digests, overdue deliveries (scheduled in settings)."""

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from orders.services import cancellations, digest, fulfilment
from orders.services.checkout import resolve_unsettled_checkouts
from shops.selectors import list_open_shop_ids

logger = logging.getLogger(__name__)


@shared_task(name="orders.tasks.resolve_pending_payments", ignore_result=True)
def resolve_pending_payments() -> dict:
    """Ask the provider about checkouts whose charge outcome is unknown and settle them (every minute)."""
    outcomes = resolve_unsettled_checkouts()
    if outcomes:
        logger.info("resolved pending payments", extra={"event": "payments_resolved", **outcomes})
    return outcomes


@shared_task(name="orders.tasks.send_daily_digests")
def send_daily_digests(day: str | None = None) -> int:
    """Queue one digest per active shop for ``day`` (ISO date, default today); returns the count queued."""
    day = day or timezone.localdate().isoformat()
    shop_ids = list_open_shop_ids()
    for shop_id in shop_ids:
        send_shop_digest.delay(shop_id, day)
    return len(shop_ids)


@shared_task(
    name="orders.tasks.send_shop_digest",
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=60,
    max_retries=5,
    acks_late=True,
)
def send_shop_digest(shop_id: int, day: str) -> str:
    """Send one shop's digest; idempotent per shop and day (DigestLog)."""
    return digest.send_daily_digest(shop_id=shop_id, day=dt.date.fromisoformat(day)).reason


@shared_task(name="orders.tasks.mark_overdue_deliveries", ignore_result=True)
def mark_overdue_deliveries() -> int:
    """Take shipped orders as delivered AUTO_DELIVER_AFTER_DAYS after their estimate (daily; idempotent)."""
    moved = fulfilment.mark_overdue_deliveries()
    if moved:
        logger.info("overdue orders taken as delivered", extra={"event": "orders_auto_delivered", "count": moved})
    return moved


@shared_task(name="orders.tasks.accept_overdue_cancellations", ignore_result=True)
def accept_overdue_cancellations() -> int:
    """Accept buyers' cancellation requests the shop left unanswered past the deadline (idempotent per order)."""
    accepted = cancellations.accept_overdue_cancellations()
    if accepted:
        logger.info("cancellations accepted on timeout", extra={"event": "cancellations_timed_out", "count": accepted})
    return accepted
